"""Sweeps: grid construction and labelling, chunked == single scan, sharded == unsharded."""

import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from purerl.algos import ppo, tabular
from purerl.experiment import runner, sweep
from purerl.experiment.sweep import build_grid
from tests.xla import with_devices

SMALL = dict(num_envs=2, num_steps=16, total_timesteps=192, num_epochs=1, num_minibatches=2)


def test_grid_is_the_cross_product_point_major_with_seeds():
    config = ppo.Config(**SMALL)
    batched, points = build_grid(config, 3, {"lr": [1e-3, 1e-4], "clip_eps": [0.1, 0.2, 0.3]})
    assert points == [{"lr": lr, "clip_eps": eps} for lr in [1e-3, 1e-4] for eps in [0.1, 0.2, 0.3]]
    assert batched.lr.shape == (18,) and batched.gamma.shape == (18,)
    np.testing.assert_allclose(batched.lr[:9], 1e-3)
    np.testing.assert_allclose(batched.clip_eps[:6], [0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(batched.gamma, config.gamma)


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"lrr": [1.0]}, "unknown field 'lrr'"),
        ({"num_envs": [2, 4]}, "num_envs is static"),
        ({"lr": [1e-3, -1.0]}, r"lr must be finite and > 0"),
        ({"lr": []}, "at least one value"),
    ],
)
def test_grid_rejects_bad_axes(grid, message):
    with pytest.raises(ValueError, match=message):
        build_grid(ppo.Config(**SMALL), 2, grid)


def test_sweep_labels_axes_and_shapes_and_shows_progress_when_asked(capsys, tmp_path):
    result = sweep(ppo, ppo.Config(**SMALL), seeds=2, lr=[1e-3, 3e-4], progress=True)
    bar = capsys.readouterr().err  # 4 runs × 192 steps
    assert "compiling" in bar and "training: 100%" in bar and "768/768" in bar, bar
    assert result.axes == ("point", "seed", "update")
    assert result.points == [{"lr": 1e-3}, {"lr": 3e-4}]
    num_updates = ppo.Config(**SMALL).num_updates
    assert result.metrics["episode_return"].shape == (2, 2, num_updates)
    # Common random numbers: the same seed index uses the same key at every point, so the
    # first rollout (collected before any update) is identical across points.
    first = result.metrics["episode_return"][:, :, 0]
    np.testing.assert_array_equal(first[0], first[1])
    # the command's summary rows and table, for Python callers
    rows = result.summary()
    assert [r["lr"] for r in rows] == [1e-3, 3e-4] and [r["seeds"] for r in rows] == [2, 2]
    final = result.metrics["episode_return"][:, :, -1].mean(axis=1)
    np.testing.assert_allclose([r["final_return"] for r in rows], final, rtol=1e-6)
    table = result.table().splitlines()
    assert table[0].split()[:3] == ["lr", "final", "return"] and len(table) == 3
    fig = result.plot(tmp_path / "curves.png")  # and its curves
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["lr=0.001", "lr=0.0003"]
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_chunked_run_is_bitwise_equal_to_a_single_scan():
    """Evaluation on (every 4th update, so chunks of 2 split its schedule) included. The
    runner does not look inside the algorithm's state; tabular Q-learning is its cheapest
    program to compile (PPO goes through the runner in the sharded and CLI tests)."""
    base = tabular.Config(num_episodes=6, eval_every=4, eval_episodes=2)
    config, _ = build_grid(base, 2, {"lr": [0.1]})
    keys = jax.random.split(jax.random.key(0), 2)
    single = runner.run(tabular, config, keys, chunk=config.num_updates)
    seen = []
    chunked = runner.run(
        tabular, config, keys, chunk=2, on_chunk=lambda c: seen.append(c.updates_done)
    )
    assert seen == [2, 4, 6] and "eval_return" in single
    for name in single:
        np.testing.assert_array_equal(single[name], chunked[name], err_msg=name)


def test_chunk_length_divides_the_run_when_it_can():
    assert runner.chunk_length(976) == 61  # 16 chunks, one compiled program
    assert runner.chunk_length(1000) == 50  # exactly the 20-chunk target
    assert runner.chunk_length(977) == 49  # a prime: ~20 chunks, the last one shorter
    assert runner.chunk_length(1) == 1


SHARDED = textwrap.dedent(
    """
    import jax, numpy as np
    from purerl.algos import ppo
    from purerl.experiment import sweep
    assert len(jax.devices()) == 2, jax.devices()
    config = ppo.Config(num_envs=2, num_steps=16, total_timesteps=192, num_epochs=1,
                        num_minibatches=2)
    one = sweep(ppo, config, seeds=3, devices=jax.devices()[:1], lr=[1e-3])
    two = sweep(ppo, config, seeds=3, lr=[1e-3])  # 3 runs padded to 4 over 2 devices
    assert two.metrics["episode_return"].shape == (1, 3, config.num_updates)
    for k in one.metrics:
        np.testing.assert_allclose(one.metrics[k], two.metrics[k], rtol=1e-5, atol=1e-6,
                                   err_msg=k)
    print("SHARDED-OK")
    """
)


def test_sharded_over_two_host_devices_equals_unsharded():
    out = subprocess.run([sys.executable, "-c", SHARDED], env=with_devices(2), capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert "SHARDED-OK" in out.stdout, out.stderr[-3000:]
