"""Vanilla policy gradient: REINFORCE and synchronous advantage actor-critic (A2C).

Both ascend the policy-gradient estimate ∇J ≈ mean_t ∇log π(a_t|s_t) ψ_t with one gradient
step per batch of fresh on-policy data; they differ in the weight ψ_t (``psi``):

REINFORCE — Monte Carlo ψ over complete episodes. Each update resets every environment
and runs ``num_steps`` steps (by default the environment's time limit, so each environment
finishes at least one episode); steps of an episode still running at the end are left out.

- ``"total_return"``: ψ_t = R(τ), the discounted return of the whole episode;
- ``"reward_to_go"``: ψ_t = Σ_{t'≥t} γ^{t'−t} r_{t'};
- ``"reward_to_go_baseline"``: the reward-to-go minus a learned baseline V(s_t), fitted to
  the reward-to-go by regression.

A2C — bootstrapped ψ from a learned critic over ``num_steps``-long rollouts that continue
across updates (time-limit truncations and the rollout's end bootstrap from V):

- ``"td_residual"``: ψ_t = r_t + γ V(s_{t+1}) − V(s_t);
- ``"gae"``: ψ_t = GAE(λ).

The loss is L = −mean(log π ψ) + c_v · mean(½(V − target)²) − c_e · mean(H[π]), with the
critic's target the reward-to-go (REINFORCE) or ψ + V (A2C). Actor and critic have separate
trunks or one shared trunk (``shared_trunk``); discrete actions use a categorical policy,
continuous ones a diagonal Gaussian.

References: Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning" (1992); Sutton & Barto (2018), §13.3–13.5; Mnih et al.,
"Asynchronous Methods for Deep Reinforcement Learning" (2016); Schulman et al.,
"High-Dimensional Continuous Control Using Generalized Advantage Estimation" (2016), §2.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import envs, loop, onpolicy, optim, rollout
from purerl.kernels import policy, returns
from purerl.nets import ACTIVATIONS, ActorCritic

MONTE_CARLO = ("total_return", "reward_to_go", "reward_to_go_baseline")  # REINFORCE
BOOTSTRAPPED = ("td_residual", "gae")  # A2C
# A3C's t_max: with 16 steps per update A2C on CartPole oscillated and collapsed (32 seeds,
# 500k steps, lr 1e-3: final mean 400.7, nine below 200); with 5, 477.6 (one of 16 at 142),
# and at lr 7e-4 499.6 (lowest 493.5).
A2C_NUM_STEPS = 5


class Config(eqx.Module):
    """REINFORCE (Monte Carlo ``psi``) or A2C (bootstrapped ``psi``) hyperparameters."""

    env_id: str = cfg.environment("CartPole-v1")
    env_kwargs: tuple = cfg.env_kwargs_field()
    psi: str = cfg.choice("reward_to_go_baseline", MONTE_CARLO + BOOTSTRAPPED)
    num_envs: int = cfg.count(4)
    # Steps per environment per update. None: the environment's time limit for REINFORCE,
    # A2C_NUM_STEPS for A2C.
    num_steps: int | None = cfg.count(None, optional=True)
    total_timesteps: int = cfg.count(500_000)
    hidden_sizes: tuple[int, ...] = cfg.sizes((64, 64))
    activation: str = cfg.choice("tanh", tuple(sorted(ACTIVATIONS)))
    shared_trunk: bool = cfg.flag(False)
    anneal_lr: bool = cfg.flag(False)
    normalize_obs: bool = cfg.flag(False)
    normalize_advantages: bool = cfg.flag(True)  # standardize ψ over the batch's used steps
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    lr: jax.Array = cfg.hyperparameter(1e-3, 0.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.99, 0.0, 1.0)
    gae_lambda: jax.Array = cfg.hyperparameter(0.95, 0.0, 1.0)
    ent_coef: jax.Array = cfg.hyperparameter(0.0, 0.0)
    vf_coef: jax.Array = cfg.hyperparameter(0.5, 0.0)
    max_grad_norm: jax.Array = cfg.hyperparameter(0.5, 0.0, low_open=True)

    __check_init__ = cfg.validate

    @property
    def monte_carlo(self) -> bool:
        return self.psi in MONTE_CARLO

    @property
    def uses_critic(self) -> bool:
        return self.psi != "total_return" and self.psi != "reward_to_go"

    @property
    def rollout_length(self) -> int:
        if self.num_steps is not None:
            return self.num_steps
        return envs.from_config(self).max_episode_steps if self.monte_carlo else A2C_NUM_STEPS

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.rollout_length

    num_updates = cfg.num_updates_property


State = onpolicy.State  # the actor-critic, its optimizer, environments, counters


class Batch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    psi: jax.Array
    target: jax.Array  # the critic's regression target
    weight: jax.Array  # 1 for steps of finished episodes (REINFORCE) or every step (A2C)


def _optimizer(config: Config) -> optax.GradientTransformation:
    anneal = config.num_updates if config.anneal_lr else None
    return optim.clipped_adam(config.lr, config.max_grad_norm, anneal)


def init(config: Config, key: jax.Array) -> State:
    """Build the actor-critic, optimizer, environments and trackers for one run."""
    start = onpolicy.start(envs.from_config(config), config, key, config.shared_trunk)
    return State(
        **start._asdict(), opt_state=_optimizer(config).init(eqx.filter(start.model, eqx.is_array))
    )


greedy_policy = onpolicy.greedy_policy


def finished_episodes(done: jax.Array) -> jax.Array:
    """``[T, N]`` weights: 1 up to each environment's last episode end, 0 after it."""
    t = jnp.arange(done.shape[0])[:, None]
    last = jnp.max(jnp.where(done, t, -1), axis=0, keepdims=True)
    return (t <= last).astype(jnp.float32)


def _weighted_mean(x: jax.Array, weight: jax.Array) -> jax.Array:
    return jnp.sum(weight * x) / jnp.maximum(jnp.sum(weight), 1.0)


def _loss(config: Config, dist, model: ActorCritic, batch: Batch):
    dist_params, value = jax.vmap(model)(batch.obs)
    logp = jax.vmap(dist.log_prob)(dist_params, batch.action)
    psi = batch.psi
    if config.normalize_advantages:
        psi = policy.normalize_advantages(psi, batch.weight)
    pg_loss = _weighted_mean(policy.policy_gradient_loss(logp, psi), batch.weight)
    v_loss = _weighted_mean(policy.value_loss(value, batch.target), batch.weight)
    entropy = _weighted_mean(jax.vmap(dist.entropy)(dist_params), batch.weight)
    total = pg_loss - config.ent_coef * entropy
    if config.uses_critic:
        total = total + config.vf_coef * v_loss
    metrics = {
        "loss/total": total,
        "loss/policy": pg_loss,
        "loss/value": v_loss,
        "entropy": entropy,
        "used_fraction": jnp.mean(batch.weight),
    }
    return total, metrics


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One policy-gradient step on ``num_envs × num_steps`` fresh transitions."""
    env = envs.from_config(config)
    dist = onpolicy.distribution(env)
    key, k_reset, k_roll = jax.random.split(state.key, 3)
    normalizer = state.normalizer if config.normalize_obs else None

    carry = state.rollout
    if config.monte_carlo:  # whole episodes: start every environment afresh
        carry = rollout.reset(env, k_reset, config.num_envs, carry.stats)
    traj, v_next, carry = onpolicy.collect(
        env, state.model, carry, k_roll, config.rollout_length, normalizer
    )
    value = traj.extras.value
    psi = rollout.per_env(
        functools.partial(returns.policy_gradient_psi, config.psi),
        traj.reward,
        rollout.discount(traj, config.gamma),
        value,
        v_next,
        traj.done,
        config.gae_lambda,
    )
    # The critic's target: the reward-to-go, the λ-return, or r + γ V(s') (unused without one).
    target = psi + value if config.uses_critic else psi
    weight = finished_episodes(traj.done) if config.monte_carlo else jnp.ones_like(psi)
    obs = onpolicy.policy_input(normalizer, traj.obs)
    batch = rollout.flatten(Batch(obs, traj.action, psi, target, weight))

    (_, metrics), grads = eqx.filter_value_and_grad(
        lambda m: _loss(config, dist, m, batch), has_aux=True
    )(state.model)
    learner = optim.apply(_optimizer(config), optim.Learner(state.model, state.opt_state), grads)
    state = state._replace(model=learner.model, opt_state=learner.opt_state)
    metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
    return onpolicy.end_update(config, state, traj, carry, key, metrics)


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``).

    Returns the final state and metrics with a leading axis of updates.
    """
    return loop.train(loop.Algorithm(init, update, greedy_policy), config, key)
