"""Helpers shared by every algorithm's ``Config``.

A ``Config`` is an ``equinox.Module``: fields that fix shapes or control flow are static
(``static(...)``), continuous hyperparameters are float32 array leaves
(``hyperparameter(...)``) so that ``jax.vmap(train, in_axes=(sweep_axes(config), 0))``
sweeps them inside one compiled program. Validation runs in ``__check_init__`` — in
Python, before any tracing — and raises ``ValueError`` naming the field and the rule.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def _as_float(x: Any) -> jax.Array:
    if isinstance(x, jax.core.Tracer):
        return x
    return jnp.asarray(x, dtype=jnp.float32)


def hyperparameter(default: float) -> Any:
    """A continuous hyperparameter: a float32 array leaf (scalar, or batched for sweeps)."""
    return eqx.field(default=default, converter=_as_float)


def static(default: Any) -> Any:
    """A field that fixes shapes or control flow: part of the compiled program's identity."""
    return eqx.field(default=default, static=True)


def _freeze(kwargs: Any) -> tuple[tuple[str, Any], ...]:
    if isinstance(kwargs, dict):
        kwargs = kwargs.items()
    return tuple(sorted((str(k), v) for k, v in kwargs))


def env_kwargs_field() -> Any:
    """Keyword arguments for ``purerl.envs.make``, given as a dict, stored as a sorted tuple."""
    return eqx.field(default=(), static=True, converter=_freeze)


def concrete(x: Any) -> np.ndarray | None:
    """The value of a leaf as NumPy, or None when it is traced (checked at construction only)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def config_name(config: eqx.Module) -> str:
    """``"ppo.Config"`` for ``purerl.algos.ppo.Config``."""
    cls = type(config)
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__qualname__}"


def require(config: eqx.Module, field: str, ok: bool, rule: str) -> None:
    """Raise ``ValueError("<Config>.<field> ...")`` unless ``ok``."""
    if not ok:
        value = getattr(config, field)
        shown = np.asarray(value).tolist() if isinstance(value, jax.Array) else value
        raise ValueError(f"{config_name(config)}.{field} {rule}, got {shown!r}")


def require_range(
    config: eqx.Module,
    field: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> None:
    """Check every element of a (possibly batched) hyperparameter lies in the range."""
    value = concrete(getattr(config, field))
    if value is None:
        return
    ok = bool(np.all(~np.isnan(value) if allow_inf else np.isfinite(value)))
    parts = []
    if low is not None:
        ok &= bool(np.all(value > low) if low_open else np.all(value >= low))
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        ok &= bool(np.all(value < high) if high_open else np.all(value <= high))
        parts.append(f"{'<' if high_open else '<='} {high}")
    kind = "not NaN" if allow_inf else "finite"
    require(config, field, ok, f"must be {kind} and " + " and ".join(parts) if parts else kind)


def require_positive_int(config: eqx.Module, *fields: str) -> None:
    for field in fields:
        value = getattr(config, field)
        require(config, field, isinstance(value, int) and value >= 1, "must be a positive int")


def require_choice(config: eqx.Module, field: str, allowed) -> None:
    """Check a static field is one of ``allowed``."""
    allowed = tuple(allowed)
    require(config, field, getattr(config, field) in allowed, f"must be one of {allowed}")


def require_one_update(config: eqx.Module) -> None:
    """``total_timesteps`` must cover at least one update of ``steps_per_update`` steps."""
    steps = config.steps_per_update
    require(
        config,
        "total_timesteps",
        config.total_timesteps >= steps,
        f"must be at least num_envs * num_steps = {steps}",
    )


def require_divides_batch(config: eqx.Module, field: str) -> None:
    """A static count (minibatches) must divide the batch ``num_envs * num_steps``."""
    batch = config.num_envs * config.num_steps
    require(
        config,
        field,
        batch % getattr(config, field) == 0,
        f"must divide the batch num_envs * num_steps = {batch}",
    )


def require_hidden_sizes(config: eqx.Module, field: str = "hidden_sizes") -> None:
    sizes = getattr(config, field)
    ok = len(sizes) > 0 and all(isinstance(h, int) and h > 0 for h in sizes)
    require(config, field, ok, "must be a non-empty tuple of positive ints")


def sweep_axes(config: eqx.Module) -> eqx.Module:
    """``in_axes`` for ``jax.vmap`` over a config: 0 for batched leaves, None for scalars."""
    return jax.tree.map(lambda x: 0 if jnp.ndim(x) > 0 else None, config)
