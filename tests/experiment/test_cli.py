"""The `purerl` command: a full small run, its files, `plot`, `list`, every error path, Ctrl-C."""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import matplotlib.image
import numpy as np
import pytest

from purerl.cli import main

# total_timesteps 270: 8 updates of 32 steps and 14 left over (reported, see below)
SMALL = ["--set", "num_envs=2", "--set", "num_steps=16", "--set", "total_timesteps=270",
         "--set", "num_epochs=1"]  # fmt: skip


def purerl(*args, **kw):
    return subprocess.run([sys.executable, "-m", "purerl.cli", *args], capture_output=True,
                          text=True, timeout=600, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = purerl("train", "ppo", "--env", "CartPole-v1", "--seeds", "3", "--set",
                  "lr=2.5e-4,1e-3", "--set", "clip_eps=0.1,0.2", *SMALL,
                  "--set", "eval_every=3", "--set", "eval_episodes=2",
                  "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = out.iterdir()
    return proc, run_dir


def test_train_writes_the_result_files(run):
    _, run_dir = run
    assert run_dir.name.endswith("-ppo-CartPole-v1")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["seeds"] == 3 and len(config["points"]) == 4
    assert config["config"]["num_envs"] == 2
    with np.load(run_dir / "metrics.npz") as m:
        assert m["episode_return"].shape == (4, 3, 8) and m["eval_return"].shape == (4, 3, 8)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["devices"] == os.cpu_count(), "the command shards runs across every core"
    rows = summary["rows"]
    assert [(r["lr"], r["clip_eps"]) for r in rows] == [
        (2.5e-4, 0.1), (2.5e-4, 0.2), (1e-3, 0.1), (1e-3, 0.2)
    ]  # fmt: skip
    for r in rows:
        assert r["ci95_low"] <= r["final_return"] <= r["ci95_high"]
        assert r["steps_per_s"] > 0 and np.isfinite(r["eval_return"])
    png = run_dir / "curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_train_prints_a_table_per_grid_point(run):
    proc, _ = run
    assert (
        "total_timesteps=270 is not a multiple of num_envs × num_steps = 32: each run "
        "takes 8 updates = 256 steps" in proc.stdout
    )  # reported, not silently rounded
    table = [line for line in proc.stdout.splitlines() if "final return" in line]
    assert table and "95% CI" in table[0] and "IQM" in table[0] and "steps/s" in table[0]
    assert "eval return" in table[0]
    assert (
        sum(line.strip().startswith(("0.00025", "0.001")) for line in proc.stdout.splitlines()) == 4
    )


def test_plot_redraws_and_overlays(run, tmp_path):
    _, run_dir = run
    assert main(["plot", str(run_dir), "--out", str(tmp_path / "one.png")]) == 0
    assert main(["plot", str(run_dir), str(run_dir), "--out", str(tmp_path / "two.png")]) == 0
    assert matplotlib.image.imread(tmp_path / "two.png").shape[0] > 100


def test_list_shows_algorithms_fields_and_environments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "ppo" in out and "clip_eps" in out and "0.2" in out and "static" in out
    assert "CartPole-v1" in out and "brax/hopper" in out


def test_list_of_named_algorithms_shows_their_fields_as_set_writes_them(capsys):
    assert main(["list", "dqn", "pg"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dqn  (purerl.algos.dqn)") and "\npg  (purerl.algos.pg)" in out
    assert "ppo" not in out and "brax/hopper" not in out  # nor the environments
    dqn_part, pg_part = out.split("\npg  ")
    dqn = {line.split()[0]: line for line in dqn_part.splitlines()[1:]}
    pg = {line.split()[0]: line for line in pg_part.splitlines()[1:]}
    assert dqn["gamma"].split()[1:] == ["0.99", "hyperparameter", "(sweepable)", "[0,", "1]"]
    assert dqn["hidden_sizes"].split()[1] == "120x84" and dqn["dueling"].split()[1] == "false"
    assert dqn["loss"].endswith("mse | huber")
    assert pg["num_steps"].split()[1:] == ["none", "static", "int", ">=", "1", "or", "none"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "dqnn"], "unknown algorithm 'dqnn'"),
        (["train", "ppo", "--env", "CartPol-v1"], "unknown environment id 'CartPol-v1'"),
        (["train", "ppo", "--set", "lr"], "malformed --set 'lr'"),
        (["train", "ppo", "--set", "lr=1e-3,"], "malformed --set"),
        (["train", "ppo", "--set", "lr=fast"], "expected a number"),
        (["train", "ppo", "--set", "lrr=1e-3"], "unknown field 'lrr'"),
        (["train", "ppo", "--set", "lr=-1"], "lr must be finite and > 0"),
        (["train", "ppo", "--set", "lr=1e-3,-1"], "lr must be finite and > 0"),
        (["train", "ppo", "--set", "num_minibatches=3"], "num_minibatches must divide"),
        (["train", "ppo", "--set", "num_envs=2,4"], "static field takes one value"),
        (["train", "ppo", "--set", "hidden_sizes=64,32"], "written like hidden_sizes=64x32"),
        (["train", "pg", "--set", "num_steps=many"], "expected an integer or none"),
        (["train", "trpo", "--set", "max_kl=0"], "max_kl must be finite and > 0"),
        (["train", "ppo", "--seeds", "0"], "--seeds must be >= 1"),
        (["train", "dqn", "--set", "total_timesteps=8000"], "no gradient step is ever taken"),
        (["train", "ppo", "--env", "Acrobot-v1", "--set", "env_id=CartPole-v1"], "not both"),
        (["train", "ppo", "--chunk", "-5"], "--chunk must be >= 1"),
        (["train", "ppo", "--devices", "0"], "--devices must be >= 1"),
        (["train", "ppo", "--devices", "99"], "--devices 99: only"),
        (["train", "ppo", "--set", "env_kwargs=max_steps"], "expected a JSON object"),
        (["train", "ppo", "--set", 'env_kwargs={"foo": 1}'], "do not build CartPole-v1"),
        (["train", "ppo", "--set", "anneal_lr=maybe"], "expected true or false"),
        (["train", "ppo", "--out", "/proc/purerl-runs"], "cannot write to --out"),
        (["trian"], "invalid choice: 'trian'"),
        (["list", "ppoo"], "unknown algorithm 'ppoo' (did you mean 'ppo'?)"),
        (["plot", "/nonexistent/run"], "not a run directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_two(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("purerl: error: "), err
    assert message in err, err
    assert "Traceback" not in err


def test_a_real_process_reports_errors_without_traceback():
    proc = purerl("train", "ppo", "--set", "lr=oops")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("purerl: error:")
    assert "Traceback" not in proc.stderr


def test_corrupt_run_dir_is_reported(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "metrics.npz").write_bytes(b"garbage")
    assert main(["plot", str(tmp_path)]) == 2
    assert f"{tmp_path / 'config.json'}: unreadable results" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{}")
    assert main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'metrics.npz'}: unreadable results" in err and "not an .npz" in err, err


def test_ctrl_c_keeps_finished_chunks(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "purerl.cli", "train", "ppo", "--set", "total_timesteps=2000000",
         "--chunk", "8", "--checkpoint-every", "100000", "--no-progress", "--out",
         str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # as from a terminal: a suite started in the background inherits SIGINT ignored,
        # and Python then installs no KeyboardInterrupt handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.time() + 300
    metrics = None
    while time.time() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("*/metrics.npz"))
        if found:
            metrics = found[0]
            break
        time.sleep(0.2)
    assert metrics is not None, proc.communicate()[1][-2000:]
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out[-1000:], err[-2000:])
    assert "interrupted" in err and "Traceback" not in err
    with np.load(metrics) as m:
        done = m["episode_return"].shape[-1]
    assert 8 <= done < 3906 and done % 8 == 0
    # one Ctrl-C stops at the end of the chunk being computed, keeps it, and summarizes
    summary = json.loads((metrics.parent / "summary.json").read_text())
    assert summary["updates_done"] == done and f"{done} of 3906 updates" in err
    # and checkpoints the chunk it stopped after, though --checkpoint-every never came due
    assert (metrics.parent / "checkpoint.eqx").exists()


def test_env_kwargs_parse_as_a_json_object_with_commas():
    from purerl.algos import ppo
    from purerl.cli import parse_set

    spec = 'env_kwargs={"max_episode_steps": 200, "x": 1}'
    expected = {"env_kwargs": {"max_episode_steps": 200, "x": 1}}
    assert parse_set([spec], ppo.Config) == (expected, {})


def test_an_optional_count_parses_as_int_or_none():
    from purerl.algos import pg
    from purerl.cli import parse_set

    assert parse_set(["num_steps=5"], pg.Config) == ({"num_steps": 5}, {})
    assert parse_set(["num_steps=none"], pg.Config) == ({"num_steps": None}, {})


# lr = 1e8 makes DQN's gradients inf after its first gradient steps (update 8 of 200)
NAN_SWEEP = ["train", "dqn", "--seeds", "2", "--set", "lr=1e-3,1e8", "--set", "num_envs=2",
             "--set", "total_timesteps=400", "--set", "buffer_size=32", "--set", "batch_size=8",
             "--set", "learning_starts=16", "--set", "target_update_interval=8",
             "--set", "hidden_sizes=16", "--chunk", "20", "--no-progress"]  # fmt: skip


def test_a_run_that_goes_nan_stops_the_sweep_names_it_and_exits_three(tmp_path, capsys):
    """The sweep stops after the chunk in which a run failed (20 of 200 updates), keeps
    every run's metrics so far, and says which quantity, grid point, seed and update in
    one line."""
    assert main([*NAN_SWEEP, "--out", str(tmp_path)]) == 3
    out, err = capsys.readouterr()
    line, *warnings = err.strip().splitlines()
    assert all(w.startswith("purerl: warning: lr=0.001: ") for w in warnings), warnings
    assert line.startswith("purerl: run failed: ") and "update 8 (lr=1e+08, seed 0;" in line
    assert "2 of 4 runs failed" in line and "stopped after 20 of 200 updates" in line
    assert "NaN/inf runs" in out
    (run_dir,) = tmp_path.iterdir()
    failure = json.loads((run_dir / "summary.json").read_text())["nonfinite"]
    assert failure["update"] == 8 and failure["point"] == {"lr": 1e8} and failure["quantities"]
    with np.load(run_dir / "metrics.npz") as m:
        assert m["nonfinite_at"].shape == (2, 2, 20)
        np.testing.assert_array_equal(m["nonfinite_at"][0, :, -1], -1)  # lr = 1e-3 is fine
        np.testing.assert_array_equal(m["nonfinite_at"][1, :, -1], 8)


def test_keep_going_runs_the_others_to_the_end_and_still_exits_three(tmp_path, capsys):
    """And the healthy point, which learns nothing in 400 steps (return 11.3 against 12.6
    at the start), gets the warning that says so."""
    assert main([*NAN_SWEEP, "--keep-going", "--out", str(tmp_path)]) == 3
    line, *warnings = capsys.readouterr().err.strip().splitlines()
    (warning,) = warnings
    assert warning.startswith("purerl: warning: lr=0.001: final episode_return ")
    assert warning.endswith("little or nothing learned"), warning
    assert "update 8 (lr=1e+08, seed 0;" in line and "2 of 4 runs failed" in line
    assert "the others ran on (--keep-going): 200 of 200 updates" in line, line
    (run_dir,) = tmp_path.iterdir()
    with np.load(run_dir / "metrics.npz") as m:
        assert m["nonfinite_at"].shape == (2, 2, 200)
        np.testing.assert_array_equal(m["nonfinite_at"][0, :, -1], -1)
        np.testing.assert_array_equal(m["nonfinite_at"][1, :, -1], 8)
        assert np.all(np.isfinite(m["loss/q"][0])), "the healthy runs trained to the end"


def test_result_files_get_the_users_umask(run):
    _, run_dir = run
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "metrics.npz", "summary.json"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o666 & ~mask, name


@pytest.mark.parametrize(
    "files, message",
    [
        ({"metrics.npz": b""}, "unreadable results"),
        ({"config.json": b"{}"}, "not a purerl run record"),
        ({"metrics.npz": "rank-2"}, "has shape (3, 8), expected [4 points, seeds, updates"),
    ],
)
def test_plot_of_a_damaged_run_dir_is_one_line_and_exit_two(run, tmp_path, capsys, files, message):
    _, run_dir = run
    damaged = tmp_path / "damaged"
    shutil.copytree(run_dir, damaged)
    for name, content in files.items():
        if content == "rank-2":
            with np.load(run_dir / name) as m:
                arrays = {k: m[k][0] for k in m.files}  # [seeds, updates]: a point axis lost
            np.savez(damaged / name, **arrays)
        else:
            (damaged / name).write_bytes(content)
    assert main(["plot", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_plot_into_a_missing_folder_is_one_line_and_exit_two(run, tmp_path, capsys):
    _, run_dir = run
    assert main(["plot", str(run_dir), "--out", str(tmp_path / "no" / "such" / "c.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_a_full_disk_is_one_line_and_exit_two_keeping_what_was_written(
    tmp_path, capsys, monkeypatch
):
    from purerl.experiment import results

    writes, write = [], results.write_metrics

    def full_after_one(path, metrics):
        if writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes.append(path)
        write(path, metrics)

    monkeypatch.setattr(results, "write_metrics", full_after_one)
    argv = ["train", "tabular", "--set", "num_episodes=40", "--chunk", "10", "--no-progress",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "updates 0–9" in err
    with np.load(writes[0]) as m:
        assert m["episode_return"].shape[-1] == 10  # the first chunk's results are intact
