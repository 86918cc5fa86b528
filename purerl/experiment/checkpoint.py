"""Checkpoints of a batch of runs: the loop's whole carry (every run's training state,
evaluation key and failure flag) and how many updates are done, in one file written with
equinox's serialisation (``eqx.tree_serialise_leaves``), atomically.

The runner's chunks compute exactly what one scan computes, so a run resumed from the
checkpoint taken after chunk k, with the same chunk length, finishes bitwise equal to a
run never stopped. Reading checks every leaf's shape and dtype against a freshly
initialised carry of the same sweep: a checkpoint of another algorithm, sweep or device
count (which pads the run axis differently) is refused, as is a truncated file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from purerl.experiment.results import atomic_write

FILE = "checkpoint.eqx"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or of another run."""


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _unkey(tree: Any) -> Any:
    """PRNG key leaves as their uint32 key data (what a file can hold)."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def save(path: Path, progress: Any, updates_done: int) -> None:
    """Write ``progress`` (the runner's batched ``loop.Progress``) and ``updates_done``."""
    payload = {"updates_done": np.int64(updates_done), "progress": _unkey(progress)}
    atomic_write(Path(path), lambda f: eqx.tree_serialise_leaves(f, payload))


def load(path: Path, like: Any) -> tuple[Any, int]:
    """``(progress, updates_done)`` from ``path``, shaped, typed and placed like ``like``
    (the freshly initialised carry of the same sweep); ``CheckpointError`` otherwise."""
    path = Path(path)
    template = {"updates_done": np.int64(0), "progress": _unkey(like)}
    try:
        with open(path, "rb") as f:
            loaded = eqx.tree_deserialise_leaves(f, template)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint (is this a run directory of "
                              "`purerl train` that finished a chunk?)") from None  # fmt: skip
    except (RuntimeError, ValueError, EOFError, OSError) as e:
        raise CheckpointError(
            f"{path}: truncated, corrupt or of another run (algorithm, sweep or device "
            f"count) — {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None

    def restore(saved, fresh):
        value = jax.random.wrap_key_data(saved, impl=jax.random.key_impl(fresh)) if (
            _is_key(fresh)) else saved  # fmt: skip
        return jax.device_put(value, fresh.sharding)

    progress = jax.tree.map(restore, loaded["progress"], like)
    return progress, int(loaded["updates_done"])
