"""One collector for every policy, and evaluation of whole episodes inside the program.

A policy is a function ``act(obs, key) -> (action, extras)`` of ONE observation and one
key (the collector ``vmap``s it over environments): a stochastic actor-critic returns its
log-probability and value as extras, an ε-greedy Q-network or a deterministic actor with
exploration noise returns none (``{}``). ``collect`` runs it for ``num_steps`` steps in
every environment of a batch and returns time-major ``[T, N]`` transitions; where an
episode ended, ``final_obs`` is the observation it reached — before the automatic reset —
so that truncated episodes can bootstrap from it. Continuous actions are clipped to the
action box only when sent to the environment; the stored action is the policy's.

``evaluate`` runs ``num_episodes`` whole episodes of a (usually deterministic) policy and
returns their undiscounted returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import envs
from purerl.envs import episode_stats

Policy = Callable[[jax.Array, jax.Array], tuple[jax.Array, Any]]


class Carry(NamedTuple):
    """What a rollout continues from: ``[N]``-batched environment state and observations."""

    env_state: Any
    obs: jax.Array
    stats: episode_stats.EpisodeStats


class Transition(NamedTuple):
    """One step in every environment; ``collect`` stacks them ``[T, N, ...]``."""

    obs: jax.Array  # the observation the action was chosen in
    action: jax.Array  # the policy's action (before clipping to the box)
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array  # the observation the transition reached (before any reset)
    ep_return: jax.Array  # return of the episode ending here (meaningful where done)
    ep_length: jax.Array
    extras: Any  # what the policy returned besides the action

    @property
    def done(self) -> jax.Array:
        return jnp.logical_or(self.terminated, self.truncated)


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


def _step_all(env: envs.Environment, act: Policy, env_state, obs, key):
    """Every environment acts once: ``(action, extras, step outputs)``."""
    k_act, k_env = jax.random.split(key)
    n = obs.shape[0]
    action, extras = jax.vmap(act)(obs, jax.random.split(k_act, n))
    keys = jax.random.split(k_env, n)
    out = envs.step_batch(env, keys, env_state, envs.to_env_action(env, action))
    return action, extras, out


def collect(
    env: envs.Environment, act: Policy, carry: Carry, key: jax.Array, num_steps: int
) -> tuple[Transition, Carry]:
    """Run ``act`` for ``num_steps`` steps in every environment of ``carry``.

    Returns ``(transitions [T, N], carry)``. The episode statistics in the carry count the
    running episodes; ``record`` moves the episodes that ended into its window.
    """

    def env_step(carry: Carry, step_key):
        action, extras, out = _step_all(env, act, carry.env_state, carry.obs, step_key)
        next_obs, env_state, reward, terminated, truncated, info = out
        stats, ep_return, ep_length = episode_stats.step(
            carry.stats, reward, jnp.logical_or(terminated, truncated)
        )
        transition = Transition(
            obs=carry.obs,
            action=action,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=info["final_obs"],
            ep_return=ep_return,
            ep_length=ep_length,
            extras=extras,
        )
        return Carry(env_state=env_state, obs=next_obs, stats=stats), transition

    carry, traj = jax.lax.scan(env_step, carry, jax.random.split(key, num_steps))
    return traj, carry


def record(stats: episode_stats.EpisodeStats, traj: Transition) -> episode_stats.EpisodeStats:
    """Push the episodes that ended during the rollout into the statistics window."""
    return episode_stats.record(stats, traj.done, traj.ep_return, traj.ep_length)


class _Episodes(NamedTuple):
    env_state: Any
    obs: jax.Array
    returns: jax.Array  # [num_episodes] undiscounted return so far
    running: jax.Array  # [num_episodes] the first episode has not ended yet
    key: jax.Array
    t: jax.Array


def evaluate(env: envs.Environment, act: Policy, key: jax.Array, num_episodes: int) -> jax.Array:
    """Undiscounted returns ``[num_episodes]`` of whole episodes of ``act``.

    The episodes run side by side from fresh resets, each until it terminates or reaches
    the environment's time limit (a truncation ends it too); steps after an episode's end
    (the automatic reset's next episode) are not counted. The loop stops as soon as every
    episode has ended, at the latest after ``env.max_episode_steps`` steps. Pure, jittable
    and vmappable.
    """
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, num_episodes))

    def running(c: _Episodes):
        return jnp.logical_and(jnp.any(c.running), c.t < env.max_episode_steps)

    def step(c: _Episodes):
        key, k_step = jax.random.split(c.key)
        _, _, out = _step_all(env, act, c.env_state, c.obs, k_step)
        next_obs, env_state, reward, terminated, truncated, _ = out
        return _Episodes(
            env_state=env_state,
            obs=next_obs,
            returns=c.returns + jnp.where(c.running, reward, 0.0),
            running=c.running & ~(terminated | truncated),
            key=key,
            t=c.t + 1,
        )

    start = _Episodes(
        env_state=env_state,
        obs=obs,
        returns=jnp.zeros(num_episodes, jnp.float32),
        running=jnp.ones(num_episodes, bool),
        key=k_run,
        t=jnp.zeros((), jnp.int32),
    )
    return jax.lax.while_loop(running, step, start).returns


def per_env(kernel, *args, **kwargs):
    """Apply a ``[T]`` trajectory kernel to each column of ``[T, N]`` arrays (scalars shared)."""
    axes = tuple(1 if jnp.ndim(a) == 2 else None for a in args)
    return jax.vmap(lambda *a: kernel(*a, **kwargs), in_axes=axes, out_axes=1)(*args)


def discount(traj: Transition, gamma: jax.Array) -> jax.Array:
    """γ, or 0 where the transition terminated the episode: ``[T, N]``."""
    return gamma * (1.0 - traj.terminated.astype(jnp.float32))


def flatten(tree):
    """Merge the leading ``[T, N]`` axes of every leaf into one batch axis."""
    return jax.tree.map(lambda x: x.reshape(x.shape[0] * x.shape[1], *x.shape[2:]), tree)
