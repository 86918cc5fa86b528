"""``purerl.experiment.results``: the summary's start values and the "little or nothing
learned" warning, on hand-made metrics ``[point, seed, update]``."""

import json

import numpy as np
import pytest

from purerl.experiment import results


def _metrics(returns, episodes=None):
    returns = np.asarray(returns, np.float32)
    episodes = np.full(returns.shape, 100) if episodes is None else np.asarray(episodes)
    return {
        "episode_return": returns,
        "episodes": episodes,
        "env_steps": np.broadcast_to(np.arange(1, returns.shape[-1] + 1) * 10, returns.shape),
        "nonfinite_at": np.full(returns.shape, -1, np.int32),
    }


def test_the_start_is_the_return_once_20_episodes_have_ended_and_nan_if_never():
    returns = [[[9.0, 15.0, 20.0, 30.0], [15.0, 18.0, 19.0, 40.0], [9.0, 9.0, 9.0, 9.0]]]
    episodes = [[[2, 12, 23, 40], [20, 30, 40, 50], [1, 5, 10, 19]]]
    start = results.start_values(_metrics(returns, episodes))
    np.testing.assert_array_equal(start, [[20.0, 15.0, np.nan]])
    # no episode count (a language-model score): its first value; a loss has no start
    assert results.start_values({"eval_return": np.array([[[0.1, 0.5]]])}) == 0.1
    assert results.start_values({"loss": np.array([[[2.0, 1.0]]])}) is None


@pytest.mark.parametrize(
    "start, final, warned",
    [
        (22.0, 22.5, True),  # CartPole at lr = 1e-9
        (22.0, 24.0, True),  # gained 9% of the start
        (22.0, 25.0, False),
        (-1200.0, -1150.0, True),  # Pendulum: a return closer to 0 is better
        (-1200.0, -150.0, False),
        (0.0, 0.0, True),
        (0.0, 0.01, False),
        (30.0, 20.0, True),  # worse than at the start
    ],
)
def test_a_point_that_gained_less_than_a_tenth_is_reported(start, final, warned):
    metrics = _metrics([[[start, final], [start, final]]])
    (row,) = results.summarize(metrics, [{"lr": 1e-3}], wall_s=1.0, run_s=1.0)
    assert row["start_return"] == pytest.approx(start)
    assert (results.not_learning([row]) == [row]) == warned
    if warned:
        line = results.describe_not_learning(row, ["lr"])
        assert line.startswith("lr=0.001: final episode_return") and "mean of 2 seeds" in line


@pytest.mark.parametrize("greedy_final, warned", [(9.6, True), (200.0, False)])
def test_with_evaluation_on_a_point_is_reported_only_if_its_greedy_policy_gained_little_too(
    greedy_final, warned
):
    """An off-policy learner that keeps exploring (tabular Q-learning at ε = 1) can learn
    a greedy policy while its training return stays where it began."""
    metrics = _metrics([[[22.0, 22.5], [22.0, 22.5]]])
    metrics["eval_return"] = np.array([[[9.4, greedy_final], [9.2, greedy_final]]], np.float32)
    (row,) = results.summarize(metrics, [{"lr": 1e-3}], wall_s=1.0, run_s=1.0)
    assert row["eval_start_return"] == pytest.approx(9.3)
    assert (results.not_learning([row]) == [row]) == warned
    if warned:
        assert "greedy policy 9.6 against 9.3, less than" in results.describe_not_learning(
            row, ["lr"]
        )


def test_points_with_a_failed_run_or_too_few_episodes_are_not_judged():
    returns = [[[20.0, 20.0], [20.0, 20.0]], [[20.0, 20.0], [20.0, 20.0]]]
    metrics = _metrics(returns, episodes=[[[20, 40], [20, 40]], [[0, 19], [0, 19]]])
    metrics["nonfinite_at"][0, 1, -1] = 1  # one of point 0's two runs failed
    rows = results.summarize(metrics, [{"lr": 1.0}, {"lr": 2.0}], wall_s=1.0, run_s=1.0)
    assert rows[0]["start_return"] == 20.0 and rows[1]["start_return"] is None
    assert results.not_learning(rows) == []
    metrics["nonfinite_at"][0, 1, -1] = -1
    rows = results.summarize(metrics, [{"lr": 1.0}, {"lr": 2.0}], wall_s=1.0, run_s=1.0)
    assert results.not_learning(rows) == rows[:1]


def test_a_sweep_shown_with_progress_warns_of_each_point_that_learned_nothing():
    """``sweep(..., progress=True)`` ends with a ``NotLearningWarning`` per such point (what
    ``purerl train`` prints after its table); here on a hand-made result."""
    from purerl.experiment.sweep import SweepResult, _warn_not_learning

    metrics = _metrics([[[22.0, 22.5], [22.0, 22.5]], [[22.0, 200.0], [22.0, 180.0]]])
    points = [{"lr": 1e-9}, {"lr": 2.5e-4}]
    result = SweepResult(None, points, 2, metrics, compile_s=1.0, run_s=1.0)
    with pytest.warns(results.NotLearningWarning) as caught:
        _warn_not_learning(result, ["lr"])
    (warning,) = caught
    assert str(warning.message).startswith("lr=1e-09: final episode_return 22.5 against 22")


def test_curves_begin_once_a_run_has_ended_an_episode(tmp_path, monkeypatch):
    """The return is 0 until a run's first episode ends (never NaN); the curve leaves those
    updates out instead of drawing a return of 0, and says so when nothing ended at all."""
    returns = [[[0.0, 0.0, 9.0, 12.0], [0.0, 8.0, 10.0, 14.0]], [[0.0] * 4, [0.0] * 4]]
    episodes = [[[0, 0, 1, 3], [0, 1, 2, 4]], [[0] * 4, [0] * 4]]
    metrics = _metrics(returns, episodes)
    values = results.curve_values(metrics, "episode_return")
    np.testing.assert_array_equal(np.isnan(values[0]), [[1, 1, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(values[0, 1, 1:], [8.0, 10.0, 14.0])
    assert np.isnan(values[1]).all()
    assert np.array_equal(results.curve_values({"loss": np.ones((1, 1, 2))}, "loss"), [[[1, 1]]])

    results.write_metrics(tmp_path / "metrics.npz", metrics)
    config = {
        "algo": "ppo",
        "config": {"env_id": "CartPole-v1"},
        "points": [{"lr": 1.0}, {"lr": 2.0}],
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    drawn, draw = [], results.plot_curves
    monkeypatch.setattr(
        results, "plot_curves", lambda c, *a, **k: drawn.extend(c) or draw(c, *a, **k)
    )
    results.draw_runs([tmp_path], tmp_path / "curves.png")
    assert [label for label, *_ in drawn] == ["lr=1", "lr=2 (no episode ended)"]
    assert (tmp_path / "curves.png").stat().st_size > 0
    # a point whose runs ended episodes but went NaN from the first update: not "no episode"
    failed = _metrics([[[np.nan] * 4] * 2], [[[1, 2, 3, 4]] * 2])
    ((label, *_),) = results.point_curves(failed, [{"lr": 3.0}], "ppo")
    assert label == "lr=3"


def test_the_final_return_is_over_the_runs_that_ended_an_episode_and_the_table_says_so():
    """0 stands in for the return until a run's first episode ends: not a final return."""
    returns = [[[0.0, 30.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[5.0, 9.0], [6.0, np.nan]]]
    episodes = [[[0, 4], [0, 0]], [[0, 0], [0, 0]], [[3, 6], [4, 8]]]
    points = [{"lr": 1.0}, {"lr": 2.0}, {"lr": 3.0}]
    rows = results.summarize(_metrics(returns, episodes), points, wall_s=1.0, run_s=1.0)
    assert [r["runs_without_episode"] for r in rows] == [1, 2, 0]
    assert rows[0]["final_return"] == rows[0]["iqm"] == rows[0]["ci95_low"] == 30.0
    assert rows[1]["final_return"] is rows[1]["ci95_high"] is rows[1]["iqm"] is None
    assert np.isnan(rows[2]["final_return"])  # a run that went NaN is not left out
    assert results.not_learning(rows) == []
    table = results.format_table(rows, ["lr"]).splitlines()
    assert table[0].split()[-4:] == ["runs", "without", "an", "episode"]
    assert table[1].split()[:2] == ["1", "30.0"] and table[1].split()[-1] == "1"
    assert table[2].split()[1:6] == ["no", "episode", "ended", "-", "-"]


def test_drawing_curves_leaves_the_users_matplotlib_backend_alone(tmp_path):
    """A notebook's inline backend must survive ``import purerl.experiment.results`` (which
    ``sweep(..., progress=True)`` and ``SweepResult.table()`` do) and a drawn PNG."""
    import importlib

    import matplotlib

    from purerl.experiment import plots

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        importlib.reload(plots)  # what importing it does
        steps, returns = np.arange(1, 4), np.ones((2, 3))
        plots.plot_curves([("a", steps, returns)], tmp_path / "c.png")
        assert matplotlib.get_backend() == "svg"
        assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        matplotlib.use(before)
