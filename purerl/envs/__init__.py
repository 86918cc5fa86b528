"""Environment registry: ``make(env_id)`` gives an adapter with purerl's interface.

Ids: gymnax names (``"CartPole-v1"``, ``"Pendulum-v1"``, …) and ``"brax/<name>"``
(``"brax/inverted_pendulum"``, ``"brax/hopper"``, …; keyword ``backend`` picks the physics
pipeline, ``episode_length`` the time limit), and purerl's finite MDPs
(``"purerl/GridWorld-4x3"``, ``"purerl/FrozenLake-4x4"``, ``"purerl/FrozenLake-8x8"``; see
``purerl.envs.tabular``).
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

import jax

from purerl.envs.interface import Box, Discrete, Environment, is_discrete

__all__ = ["Box", "Discrete", "Environment", "is_discrete", "make", "registered", "check_env_id"]


@functools.cache
def registered() -> tuple[str, ...]:
    """Every environment id ``make`` accepts."""
    import gymnax

    from purerl.envs.brax import brax_names
    from purerl.envs.tabular import BUILDERS

    brax_ids = tuple(f"brax/{n}" for n in brax_names())
    return tuple(gymnax.registered_envs) + brax_ids + tuple(BUILDERS)


def _is_registered(env_id: str) -> bool:
    """Like ``env_id in registered()``, without importing brax unless the id names it."""
    if not isinstance(env_id, str):
        return False
    if env_id.startswith("brax/"):
        return env_id in registered()
    if env_id.startswith("purerl/"):
        from purerl.envs.tabular import BUILDERS

        return env_id in BUILDERS
    import gymnax

    return env_id in gymnax.registered_envs


def check_env_id(env_id: str, field: str = "env_id") -> None:
    """Raise ``ValueError`` naming ``field`` if ``env_id`` is not registered."""
    if _is_registered(env_id):
        return
    ids = registered()
    close = difflib.get_close_matches(str(env_id), ids, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"{field}: unknown environment id {env_id!r}{hint} "
        f"(`purerl.envs.registered()` lists all {len(ids)})"
    )


@functools.cache
def _make(env_id: str, kwargs: tuple[tuple[str, Any], ...]) -> Environment:
    # Adapters are cached and often first built inside a trace (``train`` under ``jit``);
    # constants they compute while being built must be concrete arrays, not tracers that
    # would leak into every later use.
    with jax.ensure_compile_time_eval():
        return _build(env_id, kwargs)


def _build(env_id: str, kwargs: tuple[tuple[str, Any], ...]) -> Environment:
    check_env_id(env_id)
    if env_id.startswith("brax/"):
        from purerl.envs.brax import BraxEnv

        return BraxEnv(env_id, **dict(kwargs))
    if env_id.startswith("purerl/"):
        from purerl.envs.tabular import TabularEnv

        return TabularEnv(env_id, **dict(kwargs))
    from purerl.envs.gymnax import GymnaxEnv

    return GymnaxEnv(env_id, **dict(kwargs))


def make(env_id: str, **kwargs: Any) -> Environment:
    """The adapter for ``env_id`` (cached: the same arguments give the same object)."""
    return _make(env_id, tuple(sorted(kwargs.items())))
