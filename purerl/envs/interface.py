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
import jax.numpy as jnp
import numpy as np


class Discrete(NamedTuple):
    """``n`` actions, indexed 0..n−1."""

    n: int


class Box(NamedTuple):
    """Real arrays of ``shape`` within [low, high], bounds given per element (``box`` builds
    one from scalar or per-dimension bounds)."""

    low: np.ndarray  # float32, ``shape``
    high: np.ndarray
    shape: tuple[int, ...]

    def clip(self, x: jax.Array) -> jax.Array:
        """``x`` clipped into the box element by element (leading batch axes allowed)."""
        x = jnp.asarray(x)
        return jnp.clip(
            x, jnp.broadcast_to(self.low, x.shape), jnp.broadcast_to(self.high, x.shape)
        )


def box(low: Any, high: Any, shape: tuple[int, ...]) -> Box:
    """A ``Box`` with ``low`` and ``high`` broadcast to ``shape`` (NumPy float32 constants)."""
    shape = tuple(int(d) for d in shape)
    low, high = (np.broadcast_to(np.asarray(b, np.float32), shape).copy() for b in (low, high))
    if np.any(low > high):
        raise ValueError(f"Box bounds must satisfy low <= high, got low={low}, high={high}")
    return Box(low, high, shape)


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


def step_batch(env: Environment, keys: jax.Array, env_state: Any, action: jax.Array):
    """``env.step`` over a batch of environments (leading axis): the adapter's own
    ``step_batch`` where it has one (equal to ``vmap(step)``, but cheaper, e.g. brax's
    reset only when an episode ended), else ``vmap(env.step)``."""
    batched = getattr(env, "step_batch", None) or jax.vmap(env.step)
    return batched(keys, env_state, action)


def is_discrete(env: Environment) -> bool:
    return isinstance(env.action_space, Discrete)


def to_env_action(env: Environment, action: jax.Array) -> jax.Array:
    """What the environment is sent for a policy's ``action``: clipped into a ``Box``,
    unchanged for ``Discrete``."""
    return action if is_discrete(env) else env.action_space.clip(action)
