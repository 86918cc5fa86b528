"""Seed × hyperparameter sweeps as one batched config and one compiled program.

``sweep(ppo, ppo.Config(), seeds=4, lr=[1e-3, 3e-4], clip_eps=[0.1, 0.2])`` runs the 4 grid
points × 4 seeds = 16 runs in one ``jit(vmap(train))`` (chunked and sharded by the
runner) and returns metrics with labelled axes ``[point, seed, update]``. Seed ``s`` uses
the same key at every grid point (common random numbers), so points differ only by their
hyperparameters.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import jax
import numpy as np

from purerl.experiment import runner
from purerl.experiment.progress import ProgressBar
from purerl.experiment.registry import config_fields


class SweepResult(NamedTuple):
    config: Any  # the base (unbatched) config
    points: list[dict[str, float]]  # hyperparameter values of each grid point
    seeds: int
    metrics: dict[str, np.ndarray]  # each [point, seed, update]
    compile_s: float
    run_s: float

    @property
    def axes(self) -> tuple[str, str, str]:
        return ("point", "seed", "update")

    def summary(self) -> list[dict[str, Any]]:
        """One row per grid point, as ``purerl train`` writes them to ``summary.json``
        (``results.summarize``): the final return's mean, 95% bootstrap CI and IQM over
        seeds, its start, the greedy policy's score where evaluation is on, throughput."""
        from purerl.experiment import results  # matplotlib comes with it: only when asked

        wall_s = self.compile_s + self.run_s
        return results.summarize(self.metrics, self.points, wall_s, self.run_s)

    def table(self) -> str:
        """``summary`` as the table ``purerl train`` prints."""
        from purerl.experiment import results

        return results.format_table(self.summary(), list(self.points[0]))

    def plot(self, path: str | None = None) -> Any:
        """The learning curves ``purerl train`` draws (one per grid point: the mean over
        seeds with its 95% bootstrap band; the greedy policy's score dashed, where
        evaluation is on) as a matplotlib ``Figure``, which a notebook shows inline; saved
        as a PNG at ``path`` too, where given."""
        from purerl.experiment import plots, results

        algo = type(self.config).__module__.rsplit(".", 1)[-1]
        curves = results.point_curves(self.metrics, self.points, algo)
        title = getattr(self.config, "env_id", "")
        fig = plots.curves_figure(curves, title=title, **results.axis_labels(self.metrics))
        if path is not None:
            fig.savefig(path)
        plots.display_in_notebooks()
        return fig


def build_grid(
    config: Any, seeds: int, grid: dict[str, Sequence[float]]
) -> tuple[Any, list[dict[str, float]]]:
    """The cross product of ``grid`` × ``seeds`` as one config batched over runs.

    Runs are ordered point-major: run ``p * seeds + s`` is grid point ``p``, seed ``s``.
    Every hyperparameter leaf gets the leading run axis; static fields cannot be swept in
    one program and raise ``ValueError``.

    Returns:
      (batched config, the list of grid points as dicts).
    """
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    fields = {f.name: f for f in config_fields(type(config))}
    for name, values in grid.items():
        if name not in fields:
            raise ValueError(f"unknown field {name!r}; fields: {', '.join(fields)}")
        if fields[name].static:
            swept = [f for f in fields if not fields[f].static]
            raise ValueError(
                f"{name} is static (it fixes shapes or control flow) and cannot be swept in "
                f"one program; sweepable fields: {', '.join(swept)}"
            )
        if len(values) == 0:
            raise ValueError(f"{name}: the grid needs at least one value")
    names = list(grid)
    points = [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]
    batched = {}
    for name, field in fields.items():
        if field.static:
            continue
        per_point = [p.get(name, getattr(config, name)) for p in points]
        batched[name] = np.repeat(np.asarray(per_point, np.float32), seeds, axis=0)
    return dataclasses.replace(config, **batched), points


def sweep(
    algo: ModuleType,
    config: Any = None,
    seeds: int = 1,
    key: jax.Array | None = None,
    chunk: int | None = None,
    on_chunk: Callable[[runner.Chunk], None] | None = None,
    on_compiled: Callable[[float], None] | None = None,
    devices: list | None = None,
    stop_on_nonfinite: bool = True,
    should_stop: Callable[[], bool] | None = None,
    restore: Callable | None = None,
    progress: bool = False,
    **grid: Sequence[float],
) -> SweepResult:
    """Train every grid point × seed in one program; see the module docstring.

    Args:
      algo: an algorithm module following the contract (``Config``, ``init``, ``update``).
      config: the base config (default ``algo.Config()``).
      seeds: runs per grid point.
      key: the root key (default ``jax.random.key(0)``); seed ``s`` uses ``split(key)[s]``.
      chunk, on_chunk, on_compiled, devices, stop_on_nonfinite, should_stop, restore:
        passed to ``runner.run``
        (by default a run that goes NaN or ±inf stops the sweep after that chunk; see
        ``results.first_nonfinite``).
      progress: show a progress bar (``progress.ProgressBar``, on stderr) while it trains,
        and after a run of full length a ``results.NotLearningWarning`` for each grid point
        that learned little or nothing (``results.not_learning``).
      **grid: hyperparameter name → values.
    """
    config = algo.Config() if config is None else config
    batched, points = build_grid(config, seeds, grid)
    key = jax.random.key(0) if key is None else key
    seed_keys = jax.random.split(key, seeds)
    keys = jax.numpy.tile(seed_keys, len(points))
    compile_s = []
    bar = ProgressBar(config, len(points) * seeds) if progress else None

    compiled = _each(compile_s.append, bar and bar.start, on_compiled)
    chunk_done = _each(bar and bar.update, on_chunk)
    start = time.perf_counter()
    try:
        metrics = runner.run(
            algo, batched, keys, chunk=chunk, on_chunk=chunk_done, on_compiled=compiled,
            devices=devices, stop_on_nonfinite=stop_on_nonfinite, should_stop=should_stop,
            restore=restore,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    total = time.perf_counter() - start
    shaped = {k: v.reshape(len(points), seeds, *v.shape[1:]) for k, v in metrics.items()}
    result = SweepResult(config, points, seeds, shaped, compile_s[0], total - compile_s[0])
    if progress and shaped["nonfinite_at"].shape[-1] == config.num_updates:
        _warn_not_learning(result, list(grid))
    return result


def _each(*callbacks: Callable | None) -> Callable:
    """One callback that calls each of ``callbacks`` that is not None, in order."""
    given = [c for c in callbacks if c is not None]

    def call(arg: Any) -> None:
        for callback in given:
            callback(arg)

    return call


def _warn_not_learning(result: SweepResult, grid_names: list[str]) -> None:
    """A ``results.NotLearningWarning`` for each grid point that learned little or nothing
    (what ``purerl train`` prints after its table)."""
    from purerl.experiment import results  # matplotlib comes with it: only when asked

    for row in results.not_learning(result.summary()):
        message = results.describe_not_learning(row, grid_names)
        warnings.warn(message, results.NotLearningWarning, stacklevel=3)
