"""Running episode statistics for vectorized environments, as an optax-style (init, update).

Each environment accumulates the return and length of its current episode. Completed
episodes enter a window of the most recent ``window`` episodes (across all environments);
``summary`` reports their mean return and length — 0 until the first episode ends, never
NaN — and the total number of episodes completed.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

DEFAULT_WINDOW = 100


class EpisodeStats(NamedTuple):
    running_return: jax.Array  # [N] return of each environment's current episode
    running_length: jax.Array  # [N]
    window_return: jax.Array  # [W] returns of the latest completed episodes (ring buffer)
    window_length: jax.Array  # [W]
    episodes: jax.Array  # total episodes completed


def init(num_envs: int, window: int = DEFAULT_WINDOW) -> EpisodeStats:
    return EpisodeStats(
        jnp.zeros(num_envs, jnp.float32),
        jnp.zeros(num_envs, jnp.int32),
        jnp.zeros(window, jnp.float32),
        jnp.zeros(window, jnp.int32),
        jnp.zeros((), jnp.int32),
    )


def step(
    stats: EpisodeStats, reward: jax.Array, done: jax.Array
) -> tuple[EpisodeStats, jax.Array, jax.Array]:
    """Add one step's ``reward`` ``[N]``; ``done`` ``[N]`` ends episodes (terminated or truncated).

    Returns the new stats (window unchanged) and the return and length of each episode that
    ended at this step (meaningful where ``done``); pass them to ``record``.
    """
    ep_return = stats.running_return + reward
    ep_length = stats.running_length + 1
    stats = stats._replace(
        running_return=jnp.where(done, 0.0, ep_return),
        running_length=jnp.where(done, 0, ep_length),
    )
    return stats, ep_return, ep_length


def record(
    stats: EpisodeStats, done: jax.Array, ep_return: jax.Array, ep_length: jax.Array
) -> EpisodeStats:
    """Push the episodes that ended (any shape, e.g. ``[T, N]``, row-major) into the window."""
    done, ep_return, ep_length = (x.reshape(-1) for x in (done, ep_return, ep_length))
    window = stats.window_return.shape[0]
    order = stats.episodes + jnp.cumsum(done) - 1
    index = jnp.where(done, order % window, window)  # out of range: dropped
    # Of more episodes than the window holds, only the newest may be written.
    index = jnp.where(order >= stats.episodes + jnp.sum(done) - window, index, window)
    return stats._replace(
        window_return=stats.window_return.at[index].set(ep_return, mode="drop"),
        window_length=stats.window_length.at[index].set(ep_length, mode="drop"),
        episodes=stats.episodes + jnp.sum(done, dtype=jnp.int32),
    )


def summary(stats: EpisodeStats) -> dict[str, jax.Array]:
    """``episode_return``, ``episode_length`` (window means, 0 before any) and ``episodes``."""
    window = stats.window_return.shape[0]
    filled = jnp.minimum(stats.episodes, window)
    valid = jnp.arange(window) < filled
    denom = jnp.maximum(filled, 1).astype(jnp.float32)
    return {
        "episode_return": jnp.sum(jnp.where(valid, stats.window_return, 0.0)) / denom,
        "episode_length": jnp.sum(jnp.where(valid, stats.window_length, 0)) / denom,
        "episodes": stats.episodes,
    }
