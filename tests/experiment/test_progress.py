"""``purerl.experiment.progress.ProgressBar``: what its line says after a chunk."""

import numpy as np

from purerl.algos import ppo
from purerl.experiment.progress import ProgressBar
from purerl.experiment.runner import Chunk


def _chunk(updates_done, returns, episodes):
    metrics = {"episode_return": np.asarray(returns, np.float32), "episodes": np.asarray(episodes)}
    return Chunk(updates_done, 4, metrics, run_s=1.0, progress=None)


def test_the_return_shown_is_the_mean_of_the_runs_that_have_ended_an_episode():
    """A run's return is 0 until its first episode ends (never NaN): not a return to show."""
    bar = ProgressBar(ppo.Config(total_timesteps=4 * 512), runs=3, enabled=False)
    bar.update(_chunk(1, [[0.0], [0.0], [0.0]], [[0], [0], [0]]))
    assert "ret" not in (bar._bar.postfix or "")
    bar.update(_chunk(2, [[0.0, 0.0], [0.0, 12.0], [0.0, 20.0]], [[0, 0], [0, 1], [0, 3]]))
    assert bar._bar.postfix == "ret=16" and bar.updates_done == 2
    bar.close()
