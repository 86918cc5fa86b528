"""Across-seed summaries: bootstrap confidence intervals and the interquartile mean.

Reference: Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical
Precipice" (NeurIPS 2021) — report interval estimates and the IQM, not just a mean.
"""

from __future__ import annotations

import numpy as np


def bootstrap_ci(
    x: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean over axis 0 (seeds); any trailing shape."""
    x = np.asarray(x, np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.shape[0], size=(resamples, x.shape[0]))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    return np.quantile(means, alpha, axis=0), np.quantile(means, 1.0 - alpha, axis=0)


def iqm(x: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of values (25% trimmed each side)."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    n = len(x)
    lo, hi = int(np.floor(0.25 * n)), int(np.ceil(0.75 * n))
    return float(x[lo:hi].mean()) if hi > lo else float(x.mean())
