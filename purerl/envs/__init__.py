"""Environment registry: ``make(env_id)`` gives an adapter with purerl's interface.

Ids are resolved through one table of backends, each a prefix and an adapter:
gymnax names (``"CartPole-v1"``, ``"Pendulum-v1"``, …; no prefix), ``"brax/<name>"``
(``"brax/inverted_pendulum"``, ``"brax/hopper"``, …; keyword ``backend`` picks the physics
pipeline, ``episode_length`` the time limit), and purerl's finite MDPs
(``"purerl/GridWorld-4x3"``, ``"purerl/FrozenLake-4x4"``, ``"purerl/FrozenLake-8x8"``,
``"purerl/NoisyChain"``; see ``purerl.envs.tabular``). ``registered``, ``check_env_id``
and ``make`` all read the table.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from purerl.envs.interface import (
    Box,
    Discrete,
    Environment,
    box,
    is_discrete,
    step_batch,
    to_env_action,
)

__all__ = [
    "BACKENDS", "Box", "Discrete", "Environment", "box", "check_env_id", "from_config",
    "is_discrete", "make", "registered", "step_batch", "to_env_action",
]  # fmt: skip


class Backend(NamedTuple):
    """A family of environments: the ids it provides and the adapter that builds one."""

    prefix: str  # ids of this backend start with it ("" for the default backend)
    ids: Callable[[], tuple[str, ...]]  # every id it provides (imports the library)
    build: Callable[..., Environment]  # build(env_id, **kwargs)


def _gymnax_ids() -> tuple[str, ...]:
    import gymnax

    return tuple(gymnax.registered_envs)


def _brax_ids() -> tuple[str, ...]:
    from purerl.envs.brax import brax_names

    return tuple(f"brax/{n}" for n in brax_names())


def _tabular_ids() -> tuple[str, ...]:
    from purerl.envs.tabular import BUILDERS

    return tuple(BUILDERS)


def _build_gymnax(env_id: str, **kwargs: Any) -> Environment:
    from purerl.envs.gymnax import GymnaxEnv

    return GymnaxEnv(env_id, **kwargs)


def _build_brax(env_id: str, **kwargs: Any) -> Environment:
    from purerl.envs.brax import BraxEnv

    return BraxEnv(env_id, **kwargs)


def _build_tabular(env_id: str, **kwargs: Any) -> Environment:
    from purerl.envs.tabular import TabularEnv

    return TabularEnv(env_id, **kwargs)


# Most specific prefix first; the gymnax backend takes every id without a known prefix.
BACKENDS = (
    Backend("brax/", _brax_ids, _build_brax),
    Backend("purerl/", _tabular_ids, _build_tabular),
    Backend("", _gymnax_ids, _build_gymnax),
)


def _backend(env_id: str) -> Backend:
    return next(b for b in BACKENDS if env_id.startswith(b.prefix))


@functools.cache
def _ids_of(backend: Backend) -> frozenset[str]:
    return frozenset(backend.ids())


@functools.cache
def registered() -> tuple[str, ...]:
    """Every environment id ``make`` accepts, backend by backend (gymnax first)."""
    return tuple(i for b in reversed(BACKENDS) for i in b.ids())


def _is_registered(env_id: str) -> bool:
    """Like ``env_id in registered()``, importing only the backend the id names."""
    return isinstance(env_id, str) and env_id in _ids_of(_backend(env_id))


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
    check_env_id(env_id)
    with jax.ensure_compile_time_eval():
        return _backend(env_id).build(env_id, **dict(kwargs))


def make(env_id: str, **kwargs: Any) -> Environment:
    """The adapter for ``env_id`` (cached: the same arguments give the same object)."""
    return _make(env_id, tuple(sorted(kwargs.items())))


def from_config(config: Any) -> Environment:
    """The environment an algorithm's config names: ``make(config.env_id, **env_kwargs)``."""
    return make(config.env_id, **dict(config.env_kwargs))
