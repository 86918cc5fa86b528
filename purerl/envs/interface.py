"""The one functional environment interface every purerl algorithm is written against.

    reset(key) -> (obs, env_state)
    step(key, env_state, action) -> (obs, env_state, reward, terminated, truncated, info)

``step`` resets automatically: when an episode ends, the returned ``obs`` and ``env_state``
already belong to the next episode and ``info["final_obs"]`` is the observation the ending
transition reached. ``terminated`` (a terminal state: no bootstrap) and ``truncated`` (cut
by a time limit: bootstrap from V(final_obs)) are never both true and never conflated.
All functions are unbatched and pure; algorithms ``vmap`` them over environments.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import jax


class Discrete(NamedTuple):
    """``n`` actions, indexed 0..n−1."""

    n: int


class Box(NamedTuple):
    """Real vectors of ``shape`` within [low, high] (element-wise)."""

    low: float
    high: float
    shape: tuple[int, ...]


class Environment(Protocol):
    """What an adapter provides; adapters are plain Python objects closed over by ``train``."""

    env_id: str
    observation_shape: tuple[int, ...]
    action_space: Discrete | Box
    max_episode_steps: int

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]: ...

    def step(
        self, key: jax.Array, env_state: Any, action: jax.Array
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]: ...


def is_discrete(env: Environment) -> bool:
    return isinstance(env.action_space, Discrete)
