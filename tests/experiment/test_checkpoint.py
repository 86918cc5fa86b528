"""Checkpoints and ``purerl resume`` (issue #12): a run killed with SIGKILL at random
moments (writing the files takes much of each small chunk's time here, so some kills land
mid-write) and resumed finishes with metrics bitwise equal to a run never stopped; a
missing, truncated or foreign checkpoint is one line and exit status 2, and is never
overwritten."""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import equinox as eqx
import jax
import numpy as np
import pytest

from purerl.cli import main
from purerl.experiment import checkpoint
from tests.xla import with_devices

# Tabular Q-learning: a program that compiles in seconds and runs long enough (80 chunks
# of 25 episodes) for kills to land in the middle of it.
TRAIN = ["train", "tabular", "--seeds", "3", "--set", "lr=0.1,0.5", "--set", "num_episodes=2000",
         "--chunk", "25", "--no-progress"]  # fmt: skip


def purerl(*args):
    """The command in a new process with as many devices as this one (the run axis is
    padded and sharded by the device count, which a checkpoint must match)."""
    return subprocess.Popen([sys.executable, "-m", "purerl.cli", *args],
                            env=with_devices(jax.device_count()),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(path, proc, newer_than=0.0, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and path.stat().st_mtime > newer_than:
            return
        time.sleep(0.01)
    raise AssertionError(f"no {path.name} within {timeout} s: {proc.communicate()[1][-2000:]}")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The same command run to the end without interruption (in this process)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main([*TRAIN, "--out", str(out)]) == 0
    (run_dir,) = out.iterdir()
    return run_dir


def _metrics(run_dir):
    with np.load(run_dir / "metrics.npz") as m:
        return {k: m[k] for k in m.files}


def test_kill_9_at_random_moments_then_resume_is_bitwise_equal(finished, tmp_path):
    rng = random.Random(12)
    proc = purerl(*TRAIN, "--out", str(tmp_path))
    run_dir = None
    for _ in range(2):
        deadline = time.time() + 120
        while run_dir is None and time.time() < deadline:
            run_dir = next((p for p in tmp_path.iterdir() if p.is_dir()), None)
            time.sleep(0.01)
        ckpt = run_dir / checkpoint.FILE
        _wait_for(ckpt, proc, newer_than=ckpt.stat().st_mtime if ckpt.exists() else 0.0)
        time.sleep(rng.uniform(0.0, 0.05))  # chunks take ~10 ms: anywhere in the next few
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        proc = purerl("resume", str(run_dir), "--no-progress")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    start = int(re.search(r"resuming .* from update (\d+) of 2000", out).group(1))
    assert 0 < start < 2000, "the last kill landed mid-run"
    assert not [f for f in os.listdir(run_dir) if f.startswith(".")], "half-written files"
    resumed, expected = _metrics(run_dir), _metrics(finished)
    assert resumed.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(resumed[name], expected[name], err_msg=name)


def _copy(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _resume_fails(run_dir, capsys, message):
    ckpt = run_dir / checkpoint.FILE
    before = ckpt.read_bytes() if ckpt.exists() else None
    assert main(["resume", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err
    if before is not None:
        assert ckpt.read_bytes() == before, "the checkpoint was overwritten"


def test_a_missing_checkpoint_is_one_line_and_exit_two(finished, tmp_path, capsys):
    run_dir = _copy(finished, tmp_path)
    (run_dir / checkpoint.FILE).unlink()
    _resume_fails(run_dir, capsys, "no checkpoint")


def test_a_truncated_checkpoint_is_refused_and_kept(finished, tmp_path, capsys):
    run_dir = _copy(finished, tmp_path)
    data = (run_dir / checkpoint.FILE).read_bytes()
    (run_dir / checkpoint.FILE).write_bytes(data[: len(data) // 2])
    _resume_fails(run_dir, capsys, "truncated, corrupt or of another run")


def test_a_checkpoint_of_another_sweep_is_refused(finished, tmp_path, capsys):
    """The same algorithm with 2 seeds instead of 3: the run axis differs."""
    other = tmp_path / "other"
    argv = [*TRAIN, "--out", str(other)]
    argv[argv.index("--seeds") + 1] = "2"
    argv[argv.index("num_episodes=2000")] = "num_episodes=50"
    assert main(argv) == 0
    run_dir = _copy(finished, tmp_path)
    (other_dir,) = other.iterdir()
    shutil.copy(other_dir / checkpoint.FILE, run_dir / checkpoint.FILE)
    _resume_fails(run_dir, capsys, "truncated, corrupt or of another run")


def test_a_checkpoint_write_that_fails_midway_leaves_the_last_good_one(tmp_path, monkeypatch):
    path = tmp_path / checkpoint.FILE
    progress = {"w": np.arange(4.0, dtype=np.float32)}
    checkpoint.save(path, progress, 3)
    good = path.read_bytes()

    def dies_halfway(f, tree):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(eqx, "tree_serialise_leaves", dies_halfway)
    with pytest.raises(OSError):
        checkpoint.save(path, {"w": np.zeros(4, np.float32)}, 4)
    assert path.read_bytes() == good and os.listdir(tmp_path) == [checkpoint.FILE]


def test_checkpoint_every_k_chunks_and_resume_from_behind_the_metrics(
    finished, tmp_path, monkeypatch
):
    """``--checkpoint-every 30``: checkpoints after chunks 30 and 60 and the last (80); a
    resume from the one of chunk 30, with metrics.npz already at the end, recomputes the
    rest bitwise equal to a run never stopped."""
    written, real_save = [], checkpoint.save

    def save(path, progress, updates_done):
        real_save(path, progress, updates_done)
        written.append(updates_done)
        if updates_done == 750:
            shutil.copy(path, tmp_path / "at_750")

    monkeypatch.setattr(checkpoint, "save", save)
    out = tmp_path / "runs"
    assert main([*TRAIN, "--checkpoint-every", "30", "--out", str(out)]) == 0
    assert written == [750, 1500, 2000]
    (run_dir,) = out.iterdir()
    shutil.copy(tmp_path / "at_750", run_dir / checkpoint.FILE)
    assert main(["resume", str(run_dir), "--no-progress"]) == 0
    resumed, expected = _metrics(run_dir), _metrics(finished)
    for name in expected:
        np.testing.assert_array_equal(resumed[name], expected[name], err_msg=name)


def test_checkpoint_every_must_be_positive(tmp_path, capsys):
    assert main([*TRAIN, "--checkpoint-every", "0", "--out", str(tmp_path)]) == 2
    assert "--checkpoint-every must be >= 1" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
