"""Helpers shared by every algorithm's ``Config``.

A ``Config`` is an ``equinox.Module``: fields that fix shapes or control flow are static
(``static``, ``count``, ``choice``, ``sizes``), continuous hyperparameters are float32 array
leaves (``hyperparameter``) so that ``jax.vmap(train, in_axes=(sweep_axes(config), 0))``
sweeps them inside one compiled program. Each field carries its own rule (a range, a set
of choices, "a positive int"); ``validate(config)`` — the first line of every
``__check_init__`` — checks them all in Python, before any tracing, and raises
``ValueError`` naming the field and the rule. Rules between fields are checked after it
with ``require``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


class Range(NamedTuple):
    """The values a hyperparameter may take (every element, when it is batched)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False

    def describe(self) -> str:
        kind = "not NaN" if self.allow_inf else "finite"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high}")
        return f"must be {kind}" + (" and " + " and ".join(parts) if parts else "")

    def short(self) -> str:
        """The range in a few characters, as ``purerl list`` shows it: ``> 0``, ``[0, 1]``."""
        if self.low is not None and self.high is not None:
            text = (f"{'(' if self.low_open else '['}{self.low:g}, "
                    f"{self.high:g}{')' if self.high_open else ']'}")  # fmt: skip
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {self.high:g}"
        else:
            text = "any number"
        return text + (", inf allowed" if self.allow_inf else "")

    def holds(self, value: np.ndarray) -> bool:
        ok = bool(np.all(~np.isnan(value) if self.allow_inf else np.isfinite(value)))
        if self.low is not None:
            ok &= bool(np.all(value > self.low) if self.low_open else np.all(value >= self.low))
        if self.high is not None:
            ok &= bool(np.all(value < self.high) if self.high_open else np.all(value <= self.high))
        return ok


MAX_COUNT = 2**31 - 1  # counts and the step counters they bound are int32


def _as_float(x: Any) -> Any:
    """A float32 array; anything that is not a number stays as given, for ``validate`` to
    refuse by name (a converter's own TypeError would not name the field)."""
    if isinstance(x, jax.core.Tracer):
        return x
    if isinstance(x, (str, bytes)) or x is None:
        return x
    try:
        return jnp.asarray(x, dtype=jnp.float32)
    except (TypeError, ValueError):
        return x


def _as_int(x: Any) -> Any:
    """NumPy integer scalars (``np.int64(2)``, what ``np.arange`` and grids give) as ints."""
    return int(x) if isinstance(x, np.integer) else x


def _as_bool(x: Any) -> Any:
    return bool(x) if isinstance(x, np.bool_) else x


def _as_sizes(x: Any) -> Any:
    """Lists and tuples of layer widths as a tuple of ints; anything else as given."""
    return tuple(_as_int(v) for v in x) if isinstance(x, (list, tuple)) else x


def hyperparameter(
    default: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> Any:
    """A continuous hyperparameter: a float32 array leaf (scalar, or batched for sweeps),
    whose every element must lie in the range (finite unless ``allow_inf``)."""
    rule = Range(low, high, low_open, high_open, allow_inf)
    return eqx.field(default=default, converter=_as_float, metadata={"range": rule})


def static(default: Any) -> Any:
    """A field that fixes shapes or control flow: part of the compiled program's identity."""
    return eqx.field(default=default, static=True)


def flag(default: bool) -> Any:
    """A static switch: ``True`` or ``False`` (a string such as ``"false"`` is refused)."""
    return eqx.field(default=default, static=True, converter=_as_bool, metadata={"flag": True})


def count(
    default: int | None, minimum: int = 1, optional: bool = False, divides_batch: bool = False
) -> Any:
    """A static int ≥ ``minimum`` (``None`` allowed when ``optional``); with
    ``divides_batch`` it must also divide the batch ``num_envs * num_steps`` (minibatches)."""
    rule = (minimum, optional)
    metadata = {"count": rule, "divides_batch": divides_batch}
    return eqx.field(default=default, static=True, converter=_as_int, metadata=metadata)


def environment(default: str) -> Any:
    """An environment id (static) that ``purerl.envs.make`` knows."""
    return eqx.field(default=default, static=True, metadata={"env_id": True})


def sequence_task(default: str) -> Any:
    """A sequence-task id (static) that ``purerl.envs.sequence.make`` knows."""
    return eqx.field(default=default, static=True, metadata={"task_id": True})


def choice(default: str, options: tuple[str, ...]) -> Any:
    """A static field that must be one of ``options``."""
    return eqx.field(default=default, static=True, metadata={"choices": tuple(options)})


def sizes(default: tuple[int, ...]) -> Any:
    """Layer widths: a non-empty tuple of positive ints (static)."""
    return eqx.field(default=default, static=True, converter=_as_sizes, metadata={"sizes": True})


def _freeze(kwargs: Any) -> Any:
    """A dict (or pairs) as a sorted tuple of pairs; anything else as given, for ``validate``."""
    try:
        items = kwargs.items() if isinstance(kwargs, dict) else kwargs
        return tuple(sorted((str(k), v) for k, v in items))
    except (TypeError, ValueError):
        return kwargs


def env_kwargs_field() -> Any:
    """Keyword arguments for ``purerl.envs.make``, given as a dict, stored as a sorted tuple."""
    return eqx.field(default=(), static=True, converter=_freeze, metadata={"env_kwargs": True})


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


def field_values(field: dataclasses.Field) -> str:
    """The values a Config field takes, briefly and as ``purerl train --set`` writes them
    (``purerl list`` shows it): ``[0, 1]``, ``clip | kl``, ``>= 1 or none``."""
    meta = field.metadata
    if "env_id" in meta:
        return "an environment id"
    if "task_id" in meta:
        return "a sequence task id"
    if "range" in meta:
        return meta["range"].short()
    if "env_kwargs" in meta:
        return 'a JSON object, e.g. {"k": 1}'
    if "flag" in meta:
        return "true | false"
    if "count" in meta:
        minimum, optional = meta["count"]
        text = f"int >= {minimum}" + (" or none" if optional else "")
        return text + (", divides num_envs * num_steps" if meta["divides_batch"] else "")
    if "choices" in meta:
        return " | ".join(meta["choices"])
    if "sizes" in meta:
        return "widths, e.g. 64x64"
    return ""


def _check_field(config: eqx.Module, field: dataclasses.Field) -> None:
    name, meta, value = field.name, field.metadata, getattr(config, field.name)
    if "env_id" in meta:
        from purerl import envs

        envs.check_env_id(value, field=f"{config_name(config)}.{name}")
    elif "task_id" in meta:
        from purerl.envs import sequence

        require(config, name, isinstance(value, str), "must be a sequence task id")
        try:
            sequence.make(value)
        except ValueError as e:
            raise ValueError(f"{config_name(config)}.{e}") from None
    elif "range" in meta:
        rule = meta["range"]
        number = isinstance(value, jax.Array)  # the converter made every number one
        require(config, name, number, "must be a number (or an array of numbers, to sweep)")
        array = concrete(value)
        if array is not None:
            require(config, name, rule.holds(array), rule.describe())
    elif "env_kwargs" in meta:
        ok = isinstance(value, tuple) and all(isinstance(v, tuple) for v in value)
        require(config, name, ok, "must be a dict of keyword arguments for the environment")
    elif "flag" in meta:
        require(config, name, isinstance(value, bool), "must be True or False")
    elif "count" in meta:
        minimum, optional = meta["count"]
        if value is None and optional:
            return
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        rule = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        require(config, name, ok, f"must be {rule}" + (" or None" if optional else ""))
        require(config, name, value <= MAX_COUNT, f"must be at most 2**31 - 1 = {MAX_COUNT}")
        if meta["divides_batch"]:
            require_divides_batch(config, name)
    elif "choices" in meta:
        require(config, name, value in meta["choices"], f"must be one of {meta['choices']}")
    elif "sizes" in meta:
        ok = isinstance(value, tuple) and len(value) > 0
        ok = ok and all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in value)
        require(config, name, ok, "must be a non-empty tuple of positive ints, e.g. (64, 64)")


def validate(config: eqx.Module) -> None:
    """Check every field's own rule, in declaration order (see the module docstring), then
    that ``total_timesteps`` covers at least one update (for configs that count both).

    Assign it as ``__check_init__ = validate`` where a Config needs no other rule."""
    for field in dataclasses.fields(config):
        _check_field(config, field)
    if hasattr(config, "env_id") and hasattr(config, "env_kwargs"):
        check_environment(config)
    if hasattr(config, "total_timesteps") and hasattr(config, "steps_per_update"):
        require_one_update(config)


def check_environment(config: eqx.Module) -> None:
    """Build the config's environment now, so that ``env_kwargs`` it does not take and
    observations the networks cannot read are refused here, not inside ``jit``."""
    from purerl import envs

    try:
        env = envs.from_config(config)
    except (TypeError, ValueError) as e:
        kwargs = dict(config.env_kwargs)
        raise ValueError(
            f"{config_name(config)}.env_kwargs {kwargs!r} do not build {config.env_id}: {e}"
        ) from None
    shape = tuple(env.observation_shape)
    require(
        config,
        "env_id",
        len(shape) == 1,
        f"must have flat observations (purerl's networks are MLPs); this one's have shape "
        f"{shape} — image and grid observations (MinAtar, bsuite) are not supported yet",
    )


def require_unbatched(config: eqx.Module) -> None:
    """``train`` runs one configuration: a hyperparameter with a run axis would silently
    broadcast (e.g. one γ per environment). Refuse it, saying how to sweep."""
    if not dataclasses.is_dataclass(config):
        return
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if "range" in field.metadata and jnp.ndim(value) > 0:
            raise ValueError(
                f"{config_name(config)}.{field.name} has shape {jnp.shape(value)}: batched "
                f"hyperparameters are swept, not trained as one run — use "
                f"purerl.experiment.sweep(algo, config, seeds=…, {field.name}=[…]) or "
                f"jax.vmap(train, in_axes=(purerl.config.sweep_axes(config), 0))"
            )


def require_one_update(config: eqx.Module) -> None:
    """``total_timesteps`` must cover at least one update of ``steps_per_update`` steps."""
    steps = config.steps_per_update
    require(
        config,
        "total_timesteps",
        config.total_timesteps >= steps,
        f"must be at least num_envs * num_steps = {steps}",
    )


def require_learning_starts(config: eqx.Module) -> None:
    """A replay learner must take a gradient step: ``learning_starts`` may not exceed the
    environment steps of the whole run (a run that learns nothing would look like one that
    learned badly)."""
    steps = config.num_updates * config.steps_per_update
    require(
        config,
        "learning_starts",
        config.learning_starts <= steps,
        f"must be at most the run's environment steps (total_timesteps rounded down to whole "
        f"updates = {steps}), or no gradient step is ever taken",
    )


def require_annealing_window(
    config: eqx.Module, field: str, total: int, step: int, unit: str, start: str, end: str
) -> None:
    """A linear schedule from ``start`` to ``end`` over the first ``field`` × ``total`` of a
    run must span at least one ``step`` (an update's environment steps, an episode): a
    shorter window jumps from its start value to its end value between the first two
    updates, and the annealing the config asks for never happens (issue #12). Checked on
    concrete values (every element of a swept one) where start and end differ."""
    fraction, a, b = (concrete(getattr(config, f)) for f in (field, start, end))
    if fraction is None or a is None or b is None:
        return
    if np.shape(a) == np.shape(b) or np.ndim(a) == 0 or np.ndim(b) == 0:
        if np.all(a == b):
            return
    shortest = float(np.min(fraction)) * total
    require(
        config,
        field,
        shortest >= step * (1 - 1e-6),  # float32's rounding of the fraction
        f"spans {shortest:g} of the run's {total} {unit}, less than one update ({step}): "
        f"{start} would jump to {end} at once; use at least {step / total:.3g} (or set "
        f"{start} = {end} for a constant value)",
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


# The size properties of a Config, defined once and assigned in each class body
# (``num_updates = num_updates_property``): shared by name, not inherited.


def _steps_per_update(self) -> int:
    return self.num_envs * self.num_steps


def _num_updates(self) -> int:
    return self.total_timesteps // self.steps_per_update


steps_per_update_property = property(_steps_per_update, doc="Environment steps per update: N × T.")
num_updates_property = property(
    _num_updates, doc="Whole updates in the budget: total_timesteps // steps_per_update."
)


def sweep_axes(config: eqx.Module) -> eqx.Module:
    """``in_axes`` for ``jax.vmap`` over a config: 0 for batched leaves, None for scalars."""
    return jax.tree.map(lambda x: 0 if jnp.ndim(x) > 0 else None, config)
