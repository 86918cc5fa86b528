"""The experiment layer: host-side sweeps, sharding, chunked runs with progress, result
files and plots. The only part of purerl that touches files, clocks or the terminal."""

from purerl.experiment.registry import ALGORITHMS, get_algorithm
from purerl.experiment.sweep import SweepResult, build_grid, sweep

__all__ = ["ALGORITHMS", "SweepResult", "build_grid", "get_algorithm", "sweep"]
