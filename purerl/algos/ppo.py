"""Proximal Policy Optimization as a pure ``train(config, key)``.

One update collects ``num_steps`` transitions from each of ``num_envs`` environments with
the current policy, estimates advantages with GAE (bootstrapping from the final
observation at time-limit truncations, not at terminations), then runs ``num_epochs``
passes of ``num_minibatches`` minibatch gradient steps on

    L = −E[objective] + c_v · E[value loss] − c_e · E[entropy],

with global-norm gradient clipping and Adam, optionally annealing the learning rate
linearly to zero. The policy objective is chosen by ``objective``:

- ``"clip"``: L^CLIP = min(r Â, clip(r, 1 − ε, 1 + ε) Â)   (the default);
- ``"kl_fixed"``: r Â − β KL[π_old, π] with a fixed β;
- ``"kl_adaptive"``: the same with β adapted after each update toward ``kl_target``;
- ``"none"``: the unclipped surrogate r Â;
- ``"clip_kl"``: L^CLIP − β KL[π_old, π] with β adapted by ``kl_adapt_factor`` — the form
  the others are special cases of, chosen by array hyperparameters so that all of them
  share one compiled program (and one ``vmap``): ``clip_eps = inf`` removes the clipping,
  ``kl_beta = 0`` the penalty, and ``kl_adapt_factor = 1`` keeps β fixed (2 adapts it
  as in the paper).

Discrete actions use a categorical policy, continuous ones a diagonal Gaussian with a
state-independent log-std (actions are clipped to the box only when sent to the
environment). Observations can be normalized by running statistics.

Reference: Schulman et al., "Proximal Policy Optimization Algorithms" (2017);
Huang et al., "The 37 Implementation Details of PPO" (ICLR blog track, 2022).
"""

from __future__ import annotations

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
    require_divides_batch,
    require_hidden_sizes,
    require_one_update,
    require_positive_int,
    require_range,
    static,
)
from purerl.envs import episode_stats
from purerl.kernels import policy
from purerl.nets import ACTIVATIONS, ActorCritic

OBJECTIVES = ("clip", "kl_fixed", "kl_adaptive", "none", "clip_kl")


class Config(eqx.Module):
    """PPO hyperparameters. Defaults: the PPO paper's Atari/CartPole settings (4 envs × 128)."""

    env_id: str = static("CartPole-v1")
    env_kwargs: tuple = env_kwargs_field()
    num_envs: int = static(4)
    num_steps: int = static(128)
    total_timesteps: int = static(500_000)
    num_epochs: int = static(4)
    num_minibatches: int = static(4)
    hidden_sizes: tuple[int, ...] = eqx.field(default=(64, 64), static=True, converter=tuple)
    activation: str = static("tanh")
    shared_trunk: bool = static(False)
    objective: str = static("clip")
    anneal_lr: bool = static(True)
    normalize_obs: bool = static(False)
    normalize_advantages: bool = static(True)
    clip_value_loss: bool = static(True)

    lr: jax.Array = hyperparameter(2.5e-4)
    gamma: jax.Array = hyperparameter(0.99)
    gae_lambda: jax.Array = hyperparameter(0.95)
    clip_eps: jax.Array = hyperparameter(0.2)
    kl_beta: jax.Array = hyperparameter(1.0)
    kl_target: jax.Array = hyperparameter(0.01)
    kl_adapt_factor: jax.Array = hyperparameter(2.0)  # "kl_adaptive", "clip_kl"
    ent_coef: jax.Array = hyperparameter(0.01)
    vf_coef: jax.Array = hyperparameter(0.5)
    max_grad_norm: jax.Array = hyperparameter(0.5)

    def __check_init__(self):
        envs.check_env_id(self.env_id, field="ppo.Config.env_id")
        require_positive_int(
            self, "num_envs", "num_steps", "total_timesteps", "num_epochs", "num_minibatches"
        )
        require_one_update(self)
        require_divides_batch(self, "num_minibatches")
        require_hidden_sizes(self)
        require_choice(self, "activation", sorted(ACTIVATIONS))
        require_choice(self, "objective", OBJECTIVES)
        require_range(self, "lr", 0.0, low_open=True)
        require_range(self, "gamma", 0.0, 1.0)
        require_range(self, "gae_lambda", 0.0, 1.0)
        require_range(self, "clip_eps", 0.0, low_open=True, allow_inf=True)
        require_range(self, "kl_beta", 0.0)
        require_range(self, "kl_target", 0.0, low_open=True)
        require_range(self, "kl_adapt_factor", 1.0)
        require_range(self, "ent_coef", 0.0)
        require_range(self, "vf_coef", 0.0)
        require_range(self, "max_grad_norm", 0.0, low_open=True)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def steps_per_update(self) -> int:
        return self.batch_size

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_size


class State(NamedTuple):
    model: ActorCritic
    opt_state: Any
    env_state: Any  # [num_envs] batched environment state
    obs: jax.Array  # [num_envs, *obs_shape] raw observations
    stats: episode_stats.EpisodeStats
    normalizer: normalize.NormalizerState
    kl_beta: jax.Array  # the penalty coefficient (adapted when objective="kl_adaptive")
    update_step: jax.Array
    key: jax.Array


class Batch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    dist_params: Any
    advantage: jax.Array
    target: jax.Array


def _env(config: Config):
    return envs.make(config.env_id, **dict(config.env_kwargs))


def _optimizer(config: Config) -> optax.GradientTransformation:
    per_update = config.num_epochs * config.num_minibatches
    total = config.num_updates * per_update if config.anneal_lr else None
    return optim.clipped_adam(config.lr, config.max_grad_norm, total, every=per_update, eps=1e-5)


def init(config: Config, key: jax.Array) -> State:
    """Build the network, optimizer, environments and trackers for one run."""
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
        kl_beta=config.kl_beta,
        update_step=jnp.zeros((), jnp.int32),
        key=key,
    )


def _loss(config: Config, dist, kl_beta, model: ActorCritic, batch: Batch):
    dist_params, value = jax.vmap(model)(batch.obs)
    logp = jax.vmap(dist.log_prob)(dist_params, batch.action)
    ratio = policy.importance_ratio(logp, batch.logp)
    adv = batch.advantage
    if config.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if config.objective in ("kl_fixed", "kl_adaptive", "clip_kl"):
        kl = jax.vmap(dist.kl)(batch.dist_params, dist_params)
        if config.objective == "clip_kl":
            clipped = policy.clipped_surrogate_objective(ratio, adv, config.clip_eps)
            objective = clipped - kl_beta * kl
        else:
            objective = policy.kl_penalized_objective(ratio, adv, kl, kl_beta)
    else:
        # Only a diagnostic here: the k3 estimator (r − 1) − log r of KL[π_old, π], which
        # needs no second pass over the old distribution parameters.
        kl = (ratio - 1.0) - (logp - batch.logp)
        if config.objective == "clip":
            objective = policy.clipped_surrogate_objective(ratio, adv, config.clip_eps)
        else:
            objective = policy.surrogate_objective(ratio, adv)
    v_loss = policy.value_loss(
        value,
        batch.target,
        batch.value,
        config.clip_eps if config.clip_value_loss else None,
    )
    entropy = jax.vmap(dist.entropy)(dist_params)
    pg_loss = -jnp.mean(objective)
    v_loss = jnp.mean(v_loss)
    total = (
        pg_loss + config.vf_coef * v_loss + config.ent_coef * jnp.mean(policy.entropy_loss(entropy))
    )
    metrics = {
        "loss/total": total,
        "loss/policy": pg_loss,
        "loss/value": v_loss,
        "entropy": jnp.mean(entropy),
        "kl": jnp.mean(kl),
        "clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > config.clip_eps),
    }
    return total, metrics


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One PPO iteration: a rollout, GAE, then ``num_epochs`` × ``num_minibatches`` steps."""
    env = _env(config)
    dist = rollout.distribution(env)
    tx = _optimizer(config)
    key, k_roll, k_epochs = jax.random.split(state.key, 3)

    traj, v_next, carry = rollout.collect(
        env,
        state.model,
        rollout.Carry(state.env_state, state.obs, state.stats),
        k_roll,
        config.num_steps,
        state.normalizer if config.normalize_obs else None,
    )
    advantage = rollout.gae(traj, v_next, config.gamma, config.gae_lambda)
    batch = rollout.flatten(
        Batch(traj.obs, traj.action, traj.logp, traj.value, traj.dist_params, advantage,
              advantage + traj.value),
    )  # fmt: skip

    grad_fn = eqx.filter_value_and_grad(
        lambda m, b: _loss(config, dist, state.kl_beta, m, b), has_aux=True
    )

    def minibatch_step(carry, minibatch):
        model, opt_state = carry
        (_, metrics), grads = grad_fn(model, minibatch)
        updates, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        return (model, opt_state), {**metrics, "grad_norm": optax.tree.norm(grads)}

    def epoch(carry, epoch_key):
        perm = jax.random.permutation(epoch_key, config.batch_size)
        minibatches = jax.tree.map(
            lambda x: x[perm].reshape(config.num_minibatches, -1, *x.shape[1:]), batch
        )
        return jax.lax.scan(minibatch_step, carry, minibatches)

    (model, opt_state), metrics = jax.lax.scan(
        epoch, (state.model, state.opt_state), jax.random.split(k_epochs, config.num_epochs)
    )
    metrics = jax.tree.map(jnp.mean, metrics)

    kl_beta = state.kl_beta
    if config.objective in ("kl_adaptive", "clip_kl"):
        kl_beta = policy.adaptive_kl_coefficient(
            kl_beta, metrics["kl"], config.kl_target, config.kl_adapt_factor
        )
    normalizer = rollout.update_normalizer(state.normalizer, traj, config.normalize_obs)
    stats = rollout.record(carry.stats, traj)
    update_step = state.update_step + 1
    metrics = {
        **metrics,
        **episode_stats.summary(stats),
        "env_steps": update_step * config.batch_size,
        "kl_beta": kl_beta,
    }
    state = State(
        model, opt_state, carry.env_state, carry.obs, stats, normalizer, kl_beta, update_step, key
    )
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan``.

    Returns the final state and metrics with a leading axis of updates.
    """
    state = init(config, key)
    return jax.lax.scan(lambda s, _: update(config, s), state, None, length=config.num_updates)
