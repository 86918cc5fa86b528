"""A progress bar for a batch of runs, fed by the runner's callbacks (``on_compiled``,
``on_chunk``): the ``purerl train`` command's, and ``sweep(..., progress=True)``'s."""

from __future__ import annotations

from typing import Any

import numpy as np


class ProgressBar:
    """A tqdm bar over environment steps (all runs together) with the latest mean return
    of the runs that have ended an episode (and evaluation score); over updates for
    algorithms whose updates take a varying number of steps (episodes, in tabular). It
    reads "compiling" until ``start``."""

    def __init__(self, config: Any, runs: int, enabled: bool = True):
        from tqdm import tqdm

        self.updates_done = 0
        batch = getattr(config, "steps_per_update", None)
        self._steps_per_update = (batch or 1) * runs
        self._bar = tqdm(
            total=config.num_updates * self._steps_per_update, unit="step" if batch else "update",
            unit_scale=True,
            disable=not enabled, dynamic_ncols=True, desc="compiling",
        )  # fmt: skip

    def start(self, compile_s: float) -> None:
        """Compilation is over: restart the clock so steps/s counts training only."""
        self._bar.set_description("training")
        self._bar.reset()

    def update(self, chunk) -> None:
        """After a chunk (``runner.Chunk``): advance to its ``updates_done``."""
        from purerl.experiment import results  # matplotlib comes with it: not on import

        new = chunk.updates_done - self.updates_done
        self.updates_done = chunk.updates_done
        latest = {}
        if "episode_return" in chunk.metrics:
            returns = results.curve_values(chunk.metrics, "episode_return")[:, -1]
            if not np.isnan(returns).all():  # runs that have not ended an episode yet: NaN
                latest["ret"] = np.nanmean(returns)
        if "eval_return" in chunk.metrics:
            latest["eval"] = chunk.metrics["eval_return"][:, -1].mean()
        self._bar.set_postfix({k: f"{v:.3g}" for k, v in latest.items()})
        self._bar.update(new * self._steps_per_update)

    def close(self) -> None:
        self._bar.close()
