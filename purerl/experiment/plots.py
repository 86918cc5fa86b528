"""Learning curves: mean over seeds with a 95% bootstrap band, one line per grid point."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from purerl.experiment.stats import bootstrap_ci  # noqa: E402


def plot_curves(
    curves: list[tuple[str, np.ndarray, np.ndarray]], path: Path, title: str = ""
) -> Path:
    """Draw ``(label, env_steps [U], returns [seeds, U])`` curves and save a PNG at ``path``."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, steps, returns in curves:
        mean = returns.mean(axis=0)
        (line,) = ax.plot(steps, mean, label=label, lw=1.6)
        if returns.shape[0] > 1:
            lo, hi = bootstrap_ci(returns, resamples=500)
            ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (last 100 episodes)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1 or curves[0][0]:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
