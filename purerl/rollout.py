"""On-policy collection shared by the policy-gradient algorithms (PG, A2C, TRPO, PPO).

``collect`` runs an actor-critic policy for ``num_steps`` steps in every environment of a
vectorized batch and returns time-major ``[T, N]`` transitions, with the value of the
observation each transition reached — the *final* observation, before any automatic reset,
where an episode ended — so that truncated episodes bootstrap correctly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import envs, normalize
from purerl.envs import episode_stats
from purerl.kernels import returns
from purerl.kernels.distributions import CATEGORICAL, DIAG_GAUSSIAN, DistributionOps
from purerl.nets import ActorCritic


class Carry(NamedTuple):
    """What a rollout continues from: ``[N]``-batched environment state and observations."""

    env_state: Any
    obs: jax.Array  # raw observations
    stats: episode_stats.EpisodeStats


class Transition(NamedTuple):
    obs: jax.Array  # policy input (normalized if a normalizer was given)
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    dist_params: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array  # raw observation the transition reached (before any reset)
    ep_return: jax.Array
    ep_length: jax.Array

    @property
    def done(self) -> jax.Array:
        return jnp.logical_or(self.terminated, self.truncated)


def distribution(env: envs.Environment) -> DistributionOps:
    """Categorical for discrete action spaces, diagonal Gaussian for boxes."""
    return CATEGORICAL if envs.is_discrete(env) else DIAG_GAUSSIAN


def reset(
    env: envs.Environment,
    key: jax.Array,
    num_envs: int,
    stats: episode_stats.EpisodeStats | None = None,
) -> Carry:
    """Fresh episodes in every environment. ``stats`` keeps its window and drops its running
    sums; without it the statistics start empty."""
    obs, env_state = jax.vmap(env.reset)(jax.random.split(key, num_envs))
    if stats is None:
        stats = episode_stats.init(num_envs)
    else:
        stats = stats._replace(
            running_return=jnp.zeros_like(stats.running_return),
            running_length=jnp.zeros_like(stats.running_length),
        )
    return Carry(env_state, obs, stats)


def collect(
    env: envs.Environment,
    model,
    carry: Carry,
    key: jax.Array,
    num_steps: int,
    normalizer: normalize.NormalizerState | None = None,
) -> tuple[Transition, jax.Array, Carry]:
    """Run ``model`` (obs ↦ (dist_params, value), with a ``value`` method) for ``num_steps``.

    Gaussian actions are clipped to the action box only when sent to the environment; the
    stored action is the sampled one. Returns ``(trajectory [T, N], V(s_{t+1}) [T, N],
    carry)``.
    """
    dist = distribution(env)
    n = carry.obs.shape[0]

    def policy_input(obs):
        return obs if normalizer is None else normalize.apply(normalizer, obs)

    def env_step(carry, step_key):
        env_state, obs, stats = carry
        k_act, k_env = jax.random.split(step_key)
        x = policy_input(obs)
        dist_params, value = jax.vmap(model)(x)
        action = jax.vmap(dist.sample)(jax.random.split(k_act, n), dist_params)
        logp = jax.vmap(dist.log_prob)(dist_params, action)
        env_action = action
        if not envs.is_discrete(env):
            env_action = jnp.clip(action, env.action_space.low, env.action_space.high)
        next_obs, env_state, reward, terminated, truncated, info = jax.vmap(env.step)(
            jax.random.split(k_env, n), env_state, env_action
        )
        stats, ep_return, ep_length = episode_stats.step(
            stats, reward, jnp.logical_or(terminated, truncated)
        )
        transition = Transition(
            x, action, logp, value, dist_params, reward, terminated, truncated,
            info["final_obs"], ep_return, ep_length,
        )  # fmt: skip
        return Carry(env_state, next_obs, stats), transition

    carry, traj = jax.lax.scan(env_step, carry, jax.random.split(key, num_steps))
    flat_final = policy_input(traj.final_obs.reshape(-1, *traj.final_obs.shape[2:]))
    v_next = jax.vmap(model.value)(flat_final).reshape(traj.reward.shape)
    return traj, v_next, carry


def per_env(kernel, *args, **kwargs):
    """Apply a ``[T]`` trajectory kernel to each column of ``[T, N]`` arrays (scalars shared)."""
    axes = tuple(1 if jnp.ndim(a) == 2 else None for a in args)
    return jax.vmap(lambda *a: kernel(*a, **kwargs), in_axes=axes, out_axes=1)(*args)


def discount(traj: Transition, gamma: jax.Array) -> jax.Array:
    """γ, or 0 where the transition terminated the episode: ``[T, N]``."""
    return gamma * (1.0 - traj.terminated.astype(jnp.float32))


def gae(traj: Transition, v_next: jax.Array, gamma: jax.Array, lambda_: jax.Array) -> jax.Array:
    """GAE(λ) advantages ``[T, N]`` of a rollout, per environment (``returns.gae``)."""
    return per_env(
        returns.gae, traj.reward, discount(traj, gamma), traj.value, v_next, lambda_,
        traj.truncated,
    )  # fmt: skip


def update_normalizer(
    normalizer: normalize.NormalizerState, traj: Transition, enabled: bool
) -> normalize.NormalizerState:
    """Merge the rollout's raw observations into the running moments, if ``enabled``."""
    return normalize.update(normalizer, traj.final_obs) if enabled else normalizer


def record(stats, traj: Transition):
    """Push the episodes that ended during the rollout into the statistics window."""
    return episode_stats.record(stats, traj.done, traj.ep_return, traj.ep_length)


def flatten(tree):
    """Merge the leading ``[T, N]`` axes of every leaf into one batch axis."""
    return jax.tree.map(lambda x: x.reshape(x.shape[0] * x.shape[1], *x.shape[2:]), tree)


def actor_critic(env: envs.Environment, hidden_sizes, activation, shared_trunk, key) -> ActorCritic:
    """An ``ActorCritic`` sized for ``env``: categorical head if discrete, Gaussian if not."""
    discrete = envs.is_discrete(env)
    action_size = env.action_space.n if discrete else env.action_space.shape[0]
    return ActorCritic(
        env.observation_shape[0],
        action_size,
        discrete,
        tuple(hidden_sizes),
        activation,
        shared_trunk,
        key=key,
    )
