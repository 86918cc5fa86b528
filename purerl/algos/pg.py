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
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import envs, normalize, optim, rollout
from purerl.config import (
    env_kwargs_field,
    hyperparameter,
    require_choice,
    require_hidden_sizes,
    require_one_update,
    require_positive_int,
    require_range,
    static,
)
from purerl.envs import episode_stats
from purerl.kernels import policy, returns
from purerl.nets import ACTIVATIONS, ActorCritic

MONTE_CARLO = ("total_return", "reward_to_go", "reward_to_go_baseline")  # REINFORCE
BOOTSTRAPPED = ("td_residual", "gae")  # A2C
PSI = MONTE_CARLO + BOOTSTRAPPED
_KERNEL_PSI = {"gae": "advantage"}  # names in returns.policy_gradient_psi
A2C_NUM_STEPS = 16


class Config(eqx.Module):
    """REINFORCE (Monte Carlo ``psi``) or A2C (bootstrapped ``psi``) hyperparameters."""

    env_id: str = static("CartPole-v1")
    env_kwargs: tuple = env_kwargs_field()
    psi: str = static("reward_to_go_baseline")
    num_envs: int = static(4)
    # Steps per environment per update. None: the environment's time limit for REINFORCE,
    # A2C_NUM_STEPS for A2C.
    num_steps: int | None = static(None)
    total_timesteps: int = static(500_000)
    hidden_sizes: tuple[int, ...] = eqx.field(default=(64, 64), static=True, converter=tuple)
    activation: str = static("tanh")
    shared_trunk: bool = static(False)
    anneal_lr: bool = static(False)
    normalize_obs: bool = static(False)
    normalize_advantages: bool = static(True)  # standardize ψ over the batch's used steps

    lr: jax.Array = hyperparameter(1e-3)
    gamma: jax.Array = hyperparameter(0.99)
    gae_lambda: jax.Array = hyperparameter(0.95)
    ent_coef: jax.Array = hyperparameter(0.0)
    vf_coef: jax.Array = hyperparameter(0.5)
    max_grad_norm: jax.Array = hyperparameter(0.5)

    def __check_init__(self):
        envs.check_env_id(self.env_id, field="pg.Config.env_id")
        require_choice(self, "psi", PSI)
        require_positive_int(self, "num_envs", "total_timesteps")
        if self.num_steps is not None:
            require_positive_int(self, "num_steps")
        require_one_update(self)
        require_hidden_sizes(self)
        require_choice(self, "activation", sorted(ACTIVATIONS))
        require_range(self, "lr", 0.0, low_open=True)
        require_range(self, "gamma", 0.0, 1.0)
        require_range(self, "gae_lambda", 0.0, 1.0)
        require_range(self, "ent_coef", 0.0)
        require_range(self, "vf_coef", 0.0)
        require_range(self, "max_grad_norm", 0.0, low_open=True)

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
        return _env(self).max_episode_steps if self.monte_carlo else A2C_NUM_STEPS

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.rollout_length

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_update


class State(NamedTuple):
    model: ActorCritic
    opt_state: Any
    env_state: Any  # [num_envs] batched environment state
    obs: jax.Array  # [num_envs, *obs_shape] raw observations
    stats: episode_stats.EpisodeStats
    normalizer: normalize.NormalizerState
    update_step: jax.Array
    key: jax.Array


class Batch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    psi: jax.Array
    target: jax.Array  # the critic's regression target
    weight: jax.Array  # 1 for steps of finished episodes (REINFORCE) or every step (A2C)


def _env(config: Config):
    return envs.make(config.env_id, **dict(config.env_kwargs))


def _optimizer(config: Config) -> optax.GradientTransformation:
    anneal = config.num_updates if config.anneal_lr else None
    return optim.clipped_adam(config.lr, config.max_grad_norm, anneal)


def init(config: Config, key: jax.Array) -> State:
    """Build the actor-critic, optimizer, environments and trackers for one run."""
    env = _env(config)
    key, k_model, k_reset = jax.random.split(key, 3)
    model = rollout.actor_critic(
        env, config.hidden_sizes, config.activation, config.shared_trunk, k_model
    )
    carry = rollout.reset(env, k_reset, config.num_envs)
    return State(
        model=model,
        opt_state=_optimizer(config).init(eqx.filter(model, eqx.is_array)),
        env_state=carry.env_state,
        obs=carry.obs,
        stats=carry.stats,
        normalizer=normalize.init(env.observation_shape),
        update_step=jnp.zeros((), jnp.int32),
        key=key,
    )


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
        mean = _weighted_mean(psi, batch.weight)
        std = jnp.sqrt(_weighted_mean(jnp.square(psi - mean), batch.weight))
        psi = (psi - mean) / (std + 1e-8)
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
    env = _env(config)
    dist = rollout.distribution(env)
    key, k_reset, k_roll = jax.random.split(state.key, 3)

    carry = rollout.Carry(state.env_state, state.obs, state.stats)
    if config.monte_carlo:  # whole episodes: start every environment afresh
        carry = rollout.reset(env, k_reset, config.num_envs, state.stats)
    traj, v_next, carry = rollout.collect(
        env,
        state.model,
        carry,
        k_roll,
        config.rollout_length,
        state.normalizer if config.normalize_obs else None,
    )
    kind = _KERNEL_PSI.get(config.psi, config.psi)
    psi = rollout.per_env(
        functools.partial(returns.policy_gradient_psi, kind),
        traj.reward,
        rollout.discount(traj, config.gamma),
        traj.value,
        v_next,
        traj.done,
        config.gae_lambda,
    )
    # The critic's target: the reward-to-go, the λ-return, or r + γ V(s') (unused without one).
    target = psi + traj.value if config.uses_critic else psi
    weight = finished_episodes(traj.done) if config.monte_carlo else jnp.ones_like(psi)
    batch = rollout.flatten(Batch(traj.obs, traj.action, psi, target, weight))

    (_, metrics), grads = eqx.filter_value_and_grad(
        lambda m: _loss(config, dist, m, batch), has_aux=True
    )(state.model)
    tx = _optimizer(config)
    updates, opt_state = tx.update(grads, state.opt_state, eqx.filter(state.model, eqx.is_array))
    model = eqx.apply_updates(state.model, updates)

    normalizer = rollout.update_normalizer(state.normalizer, traj, config.normalize_obs)
    stats = rollout.record(carry.stats, traj)
    update_step = state.update_step + 1
    metrics = {
        **metrics,
        **episode_stats.summary(stats),
        "grad_norm": optax.tree.norm(grads),
        "env_steps": update_step * config.steps_per_update,
    }
    state = State(model, opt_state, carry.env_state, carry.obs, stats, normalizer, update_step, key)
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan``.

    Returns the final state and metrics with a leading axis of updates.
    """
    state = init(config, key)
    return jax.lax.scan(lambda s, _: update(config, s), state, None, length=config.num_updates)
