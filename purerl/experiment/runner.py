"""Run a batch of training runs as chunks of updates, with progress and partial results.

``train(config, key)`` is ``loop.start`` then one ``loop.run`` of every update. The runner
splits that scan into chunks — ``start`` once, then the same jitted ``run`` of ``chunk``
updates repeatedly, given the index of its first update — so the host can report progress
and save what has finished between chunks. The chunks compute exactly what one scan
computes: results are bitwise equal.

All runs are vmapped into one program; with more than one device the run axis is sharded
(see ``sharding.py``).

A failed run stops the batch: after the first chunk in which any run's
``metrics["nonfinite_at"]`` is set (a NaN or ±inf in its metrics or state, see
``loop.py``), the runner reports that chunk and returns what has finished — every run up
to the end of that chunk — instead of computing garbage to the end
(``stop_on_nonfinite=False`` runs on). ``should_stop`` ends the batch early the same way.
Each ``Chunk`` carries the loop's carry after it, which ``checkpoint.save`` writes; a run
``restore``d from it continues with the next chunk.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

import jax
import numpy as np

from purerl import loop
from purerl.config import sweep_axes
from purerl.experiment import sharding


class Chunk(NamedTuple):
    """What the runner reports after each chunk."""

    updates_done: int
    num_updates: int
    metrics: dict[str, np.ndarray]  # everything finished so far, [runs, updates_done]
    run_s: float  # seconds spent running (compilation excluded)
    progress: Any  # the loop's batched carry after it (on device; for checkpoints)


def chunk_length(num_updates: int, target_chunks: int = 20) -> int:
    """A chunk length that divides ``num_updates`` (so one program serves every chunk),
    giving between 5 and 50 chunks where such a divisor exists, else about ``target_chunks``."""
    divisors = [d for d in range(1, num_updates + 1)
                if num_updates % d == 0 and 5 <= num_updates // d <= 50]  # fmt: skip
    if divisors:
        return min(divisors, key=lambda d: abs(num_updates // d - target_chunks))
    return max(1, -(-num_updates // target_chunks))


def run(
    algo: ModuleType,
    config: Any,
    keys: jax.Array,
    chunk: int | None = None,
    on_chunk: Callable[[Chunk], None] | None = None,
    on_compiled: Callable[[float], None] | None = None,
    devices: list | None = None,
    stop_on_nonfinite: bool = True,
    should_stop: Callable[[], bool] | None = None,
    restore: Callable[[Any], tuple[Any, dict[str, np.ndarray]]] | None = None,
) -> dict[str, np.ndarray]:
    """Train ``len(keys)`` runs (config leaves batched along the same axis, or scalar).

    Args:
      algo: an algorithm module (``Config``, ``init``, ``update``, ``greedy_policy``).
      config: its config; batched leaves have a leading run axis.
      keys: ``[runs]`` PRNG keys.
      chunk: updates per chunk (default: ``chunk_length(num_updates)``).
      on_chunk: called after every chunk with the results so far.
      on_compiled: called with the compile seconds once the programs are built.
      devices: devices to shard runs across (default: all).
      stop_on_nonfinite: stop after the first chunk in which a run went NaN or ±inf.
      should_stop: asked after every chunk; True stops there (e.g. on Ctrl-C), keeping it.
      restore: resume instead of starting: called with the freshly initialised carry (a
        template of shapes and placement), returns a saved carry and the metrics of the
        updates it has done, ``[runs, updates_done]`` (see ``checkpoint.py``).

    Returns:
      metrics as NumPy arrays of shape ``[runs, num_updates]`` (``[runs, updates_done]``
      when a failed run stopped the batch early).
    """
    num_runs = int(keys.shape[0])
    num_updates = config.num_updates
    chunk = chunk or chunk_length(num_updates)
    mesh = sharding.run_mesh(devices)
    size = sharding.padded_size(num_runs, mesh.size)
    axes = sweep_axes(config)
    batched = jax.tree.map(lambda x, a: x if a is None else sharding.pad_runs(x, num_runs, size),
                           config, axes)  # fmt: skip
    keys = sharding.pad_runs(keys, num_runs, size)
    if mesh.size > 1:
        batched = jax.tree.map(
            lambda x, a: x if a is None else sharding.shard_runs(x, mesh), batched, axes
        )
        keys = sharding.shard_runs(keys, mesh)

    # Every output has the run axis first: keep it split the way the inputs are, so each
    # chunk's state feeds the next chunk's program without resharding.
    jit = functools.partial(jax.jit, out_shardings=sharding.run_sharding(mesh)) if (
        mesh.size > 1) else jax.jit  # fmt: skip
    algorithm = loop.of_module(algo)
    start = time.perf_counter()
    begin = jax.vmap(functools.partial(loop.start, algorithm), in_axes=(axes, 0))
    progress = jit(begin).lower(batched, keys).compile()(batched, keys)
    programs = {}

    def program(length):
        if length not in programs:
            scan = functools.partial(loop.run, algorithm, length=length)
            batched_scan = jax.vmap(scan, in_axes=(axes, 0, None))
            programs[length] = jit(batched_scan).lower(batched, progress, 0).compile()
        return programs[length]

    parts: list[dict[str, np.ndarray]] = []
    done, run_s = 0, 0.0
    if restore is not None:  # before compiling the scan: a bad checkpoint fails fast
        progress, previous = restore(progress)
        done = int(previous["nonfinite_at"].shape[1])
        parts.append(previous)
    program(min(chunk, num_updates))
    if on_compiled is not None:
        on_compiled(time.perf_counter() - start)

    while done < num_updates:
        length = min(chunk, num_updates - done)
        step = program(length)
        start = time.perf_counter()
        progress, metrics = step(batched, progress, done)
        metrics = sharding.unpad(sharding.to_host(metrics), num_runs)
        run_s += time.perf_counter() - start
        parts.append(metrics)
        done += length
        if on_chunk is not None:
            on_chunk(Chunk(done, num_updates, _concat(parts), run_s, progress))
        if stop_on_nonfinite and np.any(metrics["nonfinite_at"][:, -1] >= 0):
            break
        if should_stop is not None and should_stop():
            break
    return _concat(parts)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}
