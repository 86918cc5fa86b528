"""Learning curves (mean over seeds with a 95% bootstrap band, one line per grid point) and
value heat maps of grid MDPs with policy arrows."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from purerl.experiment.stats import bootstrap_ci

# Figures are built as ``Figure`` objects, not through pyplot, and saved with their own
# canvas: drawing a PNG needs no display and leaves pyplot's backend alone (importing this
# module used to switch it to Agg, and a notebook that called ``sweep(..., progress=True)``
# or ``SweepResult.table()`` lost its inline plots).


def plot_curves(curves: list[tuple], path: Path, **labels: str) -> Path:
    """``curves_figure(curves, **labels)`` saved as a PNG at ``path``."""
    path = Path(path)
    curves_figure(curves, **labels).savefig(path)
    return path


def curves_figure(
    curves: list[tuple], title: str = "", xlabel: str = "environment steps",
    ylabel: str = "episode return (last 100 episodes)",
) -> Figure:  # fmt: skip
    """Draw ``(label, env_steps [U], returns [seeds, U][, eval_returns [seeds, U]])``
    curves: the mean over seeds with its 95% bootstrap band. Evaluation returns of the
    greedy policy, where given (not None), are drawn dashed in the curve's colour. A NaN
    return (a run with no episode ended yet) is not drawn, nor the seeds' mean at that
    update. A notebook shows the returned figure inline."""
    fig = Figure(figsize=(7, 4.2), dpi=110)
    ax = fig.subplots()
    for label, steps, returns, *evaluated in curves:
        mean = returns.mean(axis=0)
        (line,) = ax.plot(steps, mean, label=label or "training", lw=1.6)
        if returns.shape[0] > 1:
            lo, hi = bootstrap_ci(returns, resamples=500)
            ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        if evaluated and evaluated[0] is not None:
            ax.plot(
                steps, evaluated[0].mean(axis=0), ls="--", lw=1.2, color=line.get_color(),
                label=f"{label} (greedy eval)".strip(),
            )  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1 or curves[0][0] or (len(curves[0]) > 3 and curves[0][3] is not None):
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def display_in_notebooks() -> None:
    """Let IPython show a returned ``Figure`` as an image, as ``%matplotlib inline`` does,
    where no image formatter shows figures yet (a kernel where pyplot's inline backend was
    never enabled prints ``<Figure size …>`` instead). Outside IPython it does nothing."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    kinds = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")
    if not any(Figure in formatters[kind].type_printers for kind in kinds if kind in formatters):
        formatters["image/png"].for_type(Figure, lambda fig: print_figure(fig, "png"))


def plot_value_grid(values: np.ndarray, arrows: np.ndarray | None = None, ax=None, title=""):
    """Heat map of a 2-D array of state values (NaN cells, e.g. walls, drawn grey), each cell
    labelled with its value; ``arrows`` ``[rows, cols, 2]`` draws a (dx, dy) move per cell
    (dy up). Returns the axes."""
    if ax is None:
        import matplotlib.pyplot as plt  # a new figure in the user's backend

        _, ax = plt.subplots(figsize=(1.3 * values.shape[1] + 1, 1.3 * values.shape[0]), dpi=110)
    finite = values[np.isfinite(values)]
    bound = max(float(np.max(np.abs(finite))), 1e-6) if finite.size else 1.0
    cmap = matplotlib.colormaps["RdYlGn"].copy()
    cmap.set_bad("0.6")
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-bound, vmax=bound)
    for (row, col), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(col, row + 0.3, f"{v:.2f}", ha="center", va="center", fontsize=9)
        if arrows is not None and np.any(arrows[row, col]):
            dx, dy = 0.28 * arrows[row, col]
            ax.arrow(col - dx / 2, row + dy / 2 - 0.1, dx, -dy, head_width=0.1, color="k")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
