"""Result files of a run directory: ``config.json``, ``metrics.npz``, ``summary.json``,
``curves.png``. Files are written atomically (temporary file, then rename), so an
interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from purerl.experiment.plots import plot_curves
from purerl.experiment.registry import config_fields
from purerl.experiment.stats import bootstrap_ci, iqm


class RunDirError(ValueError):
    """A run directory that is missing or cannot be read."""


def new_run_dir(out: Path, algo: str, env_id: str) -> Path:
    """Create ``out/<timestamp>-<algo>-<env>/`` (suffixed if it already exists)."""
    out = Path(out)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{algo}-{env_id.replace('/', '-')}"
    path, n = out / base, 1
    while path.exists():
        n += 1
        path = out / f"{base}-{n}"
    path.mkdir(parents=True)
    return path


def check_writable(out: Path) -> None:
    """Raise ``OSError`` unless a file can be created under ``out`` (created if missing)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, prefix=".purerl-write-check."):
        pass  # a dot name: a listing of ``out`` taken meanwhile shows run directories only


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_prefix(name: str) -> str:
    """The name prefix of ``atomic_write``'s temporary file for ``name``."""
    return f".{name}."


def atomic_write(path: Path, write) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename it over
    ``path``: a crash leaves the previous file or the new one, never half of one. The file
    gets the mode an ordinary ``open`` would (0666 less the umask), not mkstemp's 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path.name))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_partial_writes(run_dir: Path, names: tuple[str, ...]) -> None:
    """Delete the temporary files of ``atomic_write`` that a process killed while writing
    ``names`` left behind in ``run_dir``."""
    for name in names:
        for stale in Path(run_dir).glob(_temp_prefix(name) + "*"):
            if stale.is_file():
                stale.unlink()


def write_json(path: Path, payload: Any) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(payload, indent=2) + "\n").encode()))


def write_metrics(path: Path, metrics: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **metrics))


def config_to_json(config: Any) -> dict[str, Any]:
    out = {}
    for field in config_fields(type(config)):
        value = getattr(config, field.name)
        if hasattr(value, "tolist"):
            value = np.asarray(value).tolist()
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[field.name] = value
    return out


def point_label(point: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in point.items())


HEADLINES = ("episode_return", "eval_return", "reward", "loss")
LABELS = {
    "episode_return": "episode return (last 100 episodes)",
    "eval_return": "evaluation score (held-out)",
}


def headline(metrics: dict[str, np.ndarray]) -> str:
    """The metric a run is judged by: its training episode return (environment algorithms),
    else its evaluation score (the language-model algorithms' held-out exact match or
    pairwise accuracy), else its reward, else its loss."""
    for name in HEADLINES:
        if name in metrics:
            return name
    raise RunDirError(f"metrics hold none of {', '.join(HEADLINES)}")


# The start of a run's return curve: the first update by which this many episodes had ended
# (``episode_return`` is the mean of the last 100). After fewer, the mean holds only the
# episodes that ended first, the short ones: 8 CartPole runs of 2 environments at lr=1e-9
# (learning nothing) read 17.1 on average at their first update with an episode, 21.2 once
# 20 had ended, 22.2 at the end.
START_EPISODES = 20


def start_values(metrics: dict[str, np.ndarray]) -> np.ndarray | None:
    """The ``headline`` metric at the start of each run, ``[point, seed]``: its value at the
    first update by which ``START_EPISODES`` episodes had ended (the return of the first
    policies; NaN for a run that never got there), or its first value where episodes are
    not counted. None where lower is better (a loss)."""
    name = headline(metrics)
    if name == "loss":
        return None
    values = metrics[name]
    if not _counts_episodes(metrics, name):
        return values[..., 0]
    ended = metrics["episodes"] >= START_EPISODES
    first = np.take_along_axis(values, np.argmax(ended, axis=-1)[..., None], axis=-1)[..., 0]
    return np.where(ended.any(axis=-1), first, np.nan)


def _counts_episodes(metrics: dict[str, np.ndarray], name: str) -> bool:
    return name == "episode_return" and "episodes" in metrics


def has_value(metrics: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Where the metric ``name`` holds a value (its shape): the episode return only once the
    run's first episode has ended, the metric holding 0 in its place before (it is never
    NaN: ``purerl.envs.episode_stats``); any other metric everywhere."""
    if _counts_episodes(metrics, name):
        return np.asarray(metrics["episodes"]) > 0
    return np.ones(np.shape(metrics[name]), bool)


def curve_values(metrics: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The metric ``name`` as a curve to draw (its shape, e.g. ``[point, seed, update]``):
    NaN (not drawn) where it holds no value yet (``has_value``)."""
    return np.where(has_value(metrics, name), np.asarray(metrics[name], np.float64), np.nan)


def progress(metrics: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    """The x axis of a run's curves, ``[point, seed, update]``: environment steps where the
    algorithm counts them, else updates."""
    if "env_steps" in metrics:
        return "environment steps", metrics["env_steps"]
    values = metrics[headline(metrics)]
    return "updates", np.broadcast_to(np.arange(1, values.shape[-1] + 1), values.shape)


def summarize(
    metrics: dict[str, np.ndarray], points: list[dict[str, float]], wall_s: float, run_s: float
) -> list[dict[str, Any]]:
    """One row per grid point: the final value of the ``headline`` metric (``final_return``,
    named in ``metric``): mean, 95% bootstrap CI and IQM across seeds — for the episode
    return, across the seeds that ended an episode (the others hold 0 in its place; their
    number is ``runs_without_episode``, and with none the four are None); with evaluation on,
    the final greedy-policy score (mean over seeds) and its first (after the first
    update, ``eval_start_return``) too; the number of its runs that went
    NaN or ±inf; and the metric at the start (``start_return``, mean over the seeds that
    have one, see ``start_values``; None where there is none). Throughput is in environment
    steps, or updates where there are none."""
    name = headline(metrics)
    final = metrics[name][:, :, -1]  # [point, seed]
    ended = has_value(metrics, name)[:, :, -1]  # a run that went NaN has one, and counts
    start = start_values(metrics)
    failed = np.sum(metrics["nonfinite_at"][:, :, -1] >= 0, axis=1) if (
        "nonfinite_at" in metrics) else np.zeros(len(points), int)  # fmt: skip
    evaluated = metrics.get("eval_return") if name != "eval_return" else None
    unit, axis = progress(metrics)
    steps = int(axis[0, 0, -1])
    total_steps = steps * final.size
    rows = []
    for p, point in enumerate(points):
        finals = final[p][ended[p]]
        lo, hi = bootstrap_ci(finals) if finals.size else (None, None)
        rows.append({
            **point,
            "final_return": float(finals.mean()) if finals.size else None,
            "ci95_low": None if lo is None else float(lo),
            "ci95_high": None if hi is None else float(hi),
            "iqm": iqm(finals) if finals.size else None,
            "runs_without_episode": int(np.sum(~ended[p])),
            "metric": name,
            "seeds": int(final.shape[1]),
            ("env_steps_per_run" if unit == "environment steps" else "updates_per_run"): steps,
            "wall_s": round(wall_s, 2),
            "steps_per_s": round(total_steps / max(run_s, 1e-9)),
            "failed_runs": int(failed[p]),
        })  # fmt: skip
        if evaluated is not None:
            rows[-1]["eval_return"] = float(evaluated[p, :, -1].mean())
            rows[-1]["eval_start_return"] = float(evaluated[p, :, 0].mean())
        known = start[p][np.isfinite(start[p])] if start is not None else []
        rows[-1]["start_return"] = float(np.mean(known)) if len(known) else None
    return rows


# A grid point "learned little or nothing" when its final value gained less than this
# fraction of the start's magnitude: random CartPole policies score ~22, so one that ends
# below ~24 (an lr of 1e-9 ends at 22.5), or a Pendulum one that stays below ~-1100.
MIN_GAIN = 0.1


class NotLearningWarning(UserWarning):
    """A grid point learned little or nothing (``not_learning``)."""


def _gained(final: float, start: float) -> bool:
    return final - start > MIN_GAIN * abs(start)


def not_learning(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``summarize`` whose final value (mean over seeds) gained at most
    ``MIN_GAIN`` × |start| over the start's, and, with evaluation on, whose greedy policy's
    return did not either (an off-policy learner that keeps exploring can improve its greedy
    policy alone); leaving out grid points with a failed run (reported as such) and those
    without a start (a loss, too few episodes)."""
    return [
        r for r in rows
        if r["start_return"] is not None and r["final_return"] is not None
        and not r.get("failed_runs", 0)
        and not _gained(r["final_return"], r["start_return"])
        and not ("eval_start_return" in r and _gained(r["eval_return"], r["eval_start_return"]))
    ]  # fmt: skip


def describe_not_learning(row: dict[str, Any], grid_names: list[str]) -> str:
    """One line for a row of ``not_learning``."""
    where = point_label({k: row[k] for k in grid_names}) or "the run"
    seeds = f"mean of {row['seeds']} seeds" if row["seeds"] > 1 else "1 seed"
    greedy = (f", greedy policy {row['eval_return']:.4g} against {row['eval_start_return']:.4g}"
              if "eval_start_return" in row else "")  # fmt: skip
    return (f"{where}: final {row['metric']} {row['final_return']:.4g} against "
            f"{row['start_return']:.4g} at the start ({seeds}){greedy}, less than "
            f"{MIN_GAIN:.0%} better: little or nothing learned")  # fmt: skip


def first_nonfinite(
    metrics: dict[str, np.ndarray], points: list[dict[str, float]]
) -> dict[str, Any] | None:
    """The earliest failed run of a sweep's metrics ``[point, seed, update]``, or None.

    A run failed when its ``nonfinite_at`` (see ``purerl.loop``) is set. Returns the update,
    the grid point and seed, the metrics that were NaN or ±inf at that update (empty when
    only the training state was), and how many runs failed.
    """
    flagged = metrics["nonfinite_at"][..., -1]  # [point, seed]
    if not np.any(flagged >= 0):
        return None
    p, s = min(zip(*np.nonzero(flagged >= 0)), key=lambda ps: (flagged[ps], *ps))
    update = int(flagged[p, s])
    floats = {k: v for k, v in metrics.items() if np.issubdtype(v.dtype, np.inexact)}
    quantities = [k for k, v in floats.items() if not np.isfinite(v[p, s, update])]
    return {"update": update, "point": points[p], "seed": int(s), "quantities": quantities,
            "failed_runs": int(np.sum(flagged >= 0)), "runs": int(flagged.size)}  # fmt: skip


def describe_nonfinite(failure: dict[str, Any]) -> str:
    """One line for ``first_nonfinite``'s result."""
    what = ", ".join(failure["quantities"]) or "the training state (parameters or optimizer)"
    where = ", ".join(filter(None, [point_label(failure["point"]), f"seed {failure['seed']}"]))
    return (f"{what} became NaN or inf at update {failure['update']} ({where}; "
            f"{failure['failed_runs']} of {failure['runs']} runs failed)")  # fmt: skip


def format_table(rows: list[dict[str, Any]], grid_names: list[str]) -> str:
    evaluated = all("eval_return" in r for r in rows)
    failed = any(r.get("failed_runs") for r in rows)
    unended = any(r.get("runs_without_episode") for r in rows)
    metric = rows[0].get("metric", "episode_return") if rows else "episode_return"
    final = "final return" if metric == "episode_return" else f"final {metric}"
    rate = "steps/s" if "env_steps_per_run" in (rows[0] if rows else {}) else "updates/s"
    digits = 1 if metric == "episode_return" else 3  # scores in [0, 1] need more places
    head = [*grid_names, final, "95% CI", "IQM"]
    head += ["eval return"] * evaluated + ["wall s", rate] + ["NaN/inf runs"] * failed
    head += ["runs without an episode"] * unended
    body = [
        [
            *(f"{r[n]:g}" for n in grid_names),
            *([f"{r['final_return']:.{digits}f}",
               f"[{r['ci95_low']:.{digits}f}, {r['ci95_high']:.{digits}f}]",
               f"{r['iqm']:.{digits}f}"] if r["final_return"] is not None else
              ["no episode ended", "-", "-"]),
            *([f"{r['eval_return']:.1f}"] if evaluated else []),
            f"{r['wall_s']:.1f}",
            f"{r['steps_per_s']:,}",
            *([str(r.get("failed_runs", 0))] if failed else []),
            *([str(r.get("runs_without_episode", 0))] if unended else []),
        ]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def load_run(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(config.json contents, metrics)`` of a run directory; ``RunDirError`` if unreadable."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"{path}: not a run directory (expected config.json and metrics.npz)")
    file = path / "config.json"
    try:
        config = json.loads(file.read_text())
        file = path / "metrics.npz"
        if file.is_file() and not zipfile.is_zipfile(file):
            # np.load would take it for a pickle and say it holds "pickled (object) data"
            raise ValueError("not an .npz archive: truncated or overwritten")
        with np.load(file) as data:
            metrics = {k: data[k] for k in data.files}
    except FileNotFoundError as e:
        raise RunDirError(f"{path}: missing {Path(e.filename).name}") from None
    except (json.JSONDecodeError, zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise RunDirError(f"{file}: unreadable results ({type(e).__name__}: {e})") from None
    _check_run(path, config, metrics)
    return config, metrics


def _check_run(path: Path, config: Any, metrics: dict[str, np.ndarray]) -> None:
    """What ``draw_runs`` and ``summarize`` rely on, or ``RunDirError`` saying what is off."""
    ok = isinstance(config, dict) and isinstance(config.get("points"), list) and "algo" in config
    ok = ok and isinstance(config.get("config"), dict) and "env_id" in config["config"]
    if not ok:
        raise RunDirError(f"{path}: config.json is not a purerl run record "
                          "(expected algo, config.env_id and points)")  # fmt: skip
    if not any(name in metrics for name in HEADLINES):
        raise RunDirError(f"{path}: metrics.npz holds none of {', '.join(HEADLINES)}")
    points = len(config["points"])
    for name, array in metrics.items():
        if array.ndim != 3 or array.shape[0] != points or array.shape[2] == 0:
            raise RunDirError(f"{path}: metrics.npz {name} has shape {array.shape}, expected "
                              f"[{points} points, seeds, updates ≥ 1]")  # fmt: skip


def point_curves(
    metrics: dict[str, np.ndarray], points: list[dict[str, float]], name: str, prefix: str = ""
) -> list[tuple]:
    """One curve per grid point of a sweep's metrics, for ``plots.curves_figure``:
    ``(label, x [U], headline values [seed, U], greedy evaluation [seed, U] or None)``;
    ``name`` labels a point without hyperparameters (a run of the algorithm ``name``)."""
    metric = headline(metrics)
    values = curve_values(metrics, metric)
    ended = has_value(metrics, metric)
    evaluated = metrics.get("eval_return") if metric != "eval_return" else None
    _, axis = progress(metrics)
    curves = []
    for p, point in enumerate(points):
        label = prefix + (point_label(point) or name)
        if not ended[p].any():
            label += " (no episode ended)"
        curves.append((label, axis[p, 0], values[p], None if evaluated is None else evaluated[p]))
    return curves


def axis_labels(metrics: dict[str, np.ndarray]) -> dict[str, str]:
    """``xlabel`` and ``ylabel`` of a sweep's curves (``plots.curves_figure``)."""
    metric = headline(metrics)
    return {"xlabel": progress(metrics)[0], "ylabel": LABELS.get(metric, metric)}


def draw_runs(paths: list[Path], out: Path) -> Path:
    """Overlay the learning curves of one or more run directories in one PNG."""
    curves, env_ids, terms = [], set(), set()
    for path in paths:
        config, metrics = load_run(path)
        env_ids.add(config["config"]["env_id"])
        prefix = f"{Path(path).name}: " if len(paths) > 1 else ""
        curves += point_curves(metrics, config["points"], config["algo"], prefix)
        terms.add((headline(metrics), *axis_labels(metrics).values()))
    if len(terms) > 1:
        names = sorted({metric for metric, *_ in terms})
        raise RunDirError(f"cannot overlay runs measured in different terms: {names}")
    return plot_curves(curves, out, title=" / ".join(sorted(env_ids)), **axis_labels(metrics))
