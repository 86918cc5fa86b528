"""`purerl train` as two processes on this machine (jax.distributed, CPU gloo collectives):
the runs of one sweep sharded over both processes' devices, process 0 writing the results."""

import json
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from purerl.experiment import checkpoint
from tests.xla import with_devices

COMMAND = ["train", "ppo", "--env", "CartPole-v1", "--seeds", "3", "--set", "lr=2.5e-4,1e-3",
           "--set", "num_envs=2", "--set", "num_steps=16", "--set", "total_timesteps=192",
           "--set", "num_epochs=1", "--no-progress"]  # fmt: skip


def _free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999). The coordinator binds it
    seconds after this check. Linux hands ephemeral ports to every ``bind(0)`` and outgoing
    connection in the suite (jupyter_client picks its ports so), so one of those could be
    taken in between; a port below the range only by a process that names it."""
    for _ in range(100):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("localhost", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def _run_all(commands: list[list[str]], devices: int) -> list[subprocess.CompletedProcess]:
    """Start every command at once (each process sees ``devices`` host devices), wait for
    all; if one fails or hangs, stop the others rather than leave them waiting."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "purerl.cli", *c],
            env=with_devices(devices),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for c in commands
    ]
    done = []
    try:
        for p, c in zip(procs, commands):
            out, err = p.communicate(timeout=600)
            done.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    finally:
        for p in procs:
            p.kill()
    return done


def _metrics(out_dir):
    (run_dir,) = out_dir.iterdir()
    with np.load(run_dir / "metrics.npz") as m:
        return run_dir, {k: m[k] for k in m.files}


def test_two_processes_run_the_sweep_of_one_process_with_as_many_devices(tmp_path):
    """Two processes of one device each against one process of two devices: every run's
    metrics agree (measured on the suite's build: equal but for the last bit of some
    gradient norms, 4.8e-7, as between any two programs; ``test_sweep`` compares 1 and 2
    devices the same way)."""
    address = f"localhost:{_free_port()}"
    start = time.perf_counter()
    procs = _run_all([[*COMMAND, "--out", str(tmp_path / f"p{i}"), "--coordinator", address,
                       "--num-processes", "2", "--process-id", str(i)] for i in range(2)],
                     devices=1)  # fmt: skip
    elapsed = time.perf_counter() - start
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    print(f"two processes: {elapsed:.1f} s")
    (one,) = _run_all([[*COMMAND, "--out", str(tmp_path / "one")]], devices=2)
    assert one.returncode == 0, one.stderr[-3000:]

    assert not (tmp_path / "p1").exists(), "only process 0 writes"
    run_dir, two = _metrics(tmp_path / "p0")
    record = json.loads((run_dir / "config.json").read_text())
    assert record["processes"] == 2 and record["devices"] == 2
    assert not (run_dir / checkpoint.FILE).exists()
    _, single = _metrics(tmp_path / "one")
    assert two["episode_return"].shape == (2, 3, 6)
    for name in single:
        np.testing.assert_allclose(two[name], single[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_ctrl_c_on_process_0_alone_stops_both_after_the_same_chunk(tmp_path):
    """As a cluster launcher may deliver it: SIGINT to process 0 only. Both processes stop
    after the same chunk (they agree after every chunk) and exit 130; process 0 keeps the
    chunks done and says that a multi-process run cannot be resumed."""
    address = f"localhost:{_free_port()}"
    long_run = ["train", "tabular", "--seeds", "3", "--set", "lr=0.1,0.5", "--set",
                "num_episodes=1000000", "--chunk", "25", "--no-progress"]  # fmt: skip

    def start(i):
        argv = [*long_run, "--out", str(tmp_path / f"p{i}"), "--coordinator", address,
                "--num-processes", "2", "--process-id", str(i)]  # fmt: skip
        return subprocess.Popen(
            [sys.executable, "-m", "purerl.cli", *argv], env=with_devices(1),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # as from a terminal (a suite started in the background ignores SIGINT)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip

    procs = [start(0), start(1)]
    try:
        deadline, found = time.time() + 300, []
        while not found and time.time() < deadline and procs[0].poll() is None:
            found = list((tmp_path / "p0").glob("*/metrics.npz"))
            time.sleep(0.2)
        assert found, procs[0].communicate()[1][-2000:]
        procs[0].send_signal(signal.SIGINT)
        ends = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, ends):
        assert p.returncode == 130 and "Traceback" not in err, err[-2000:]
    with np.load(found[0]) as m:
        done = m["episode_return"].shape[-1]
    assert 25 <= done < 1000000 and done % 25 == 0
    assert f"{done} of 1000000 updates" in ends[0][1] and "cannot be resumed" in ends[0][1]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--coordinator", "localhost:1234"], "--num-processes"),
        (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"], "host:port"),
        (
            ["--coordinator", "localhost:1", "--num-processes", "2", "--process-id", "2"],
            "--process-id",
        ),  # fmt: skip
    ],
)
def test_incomplete_multi_process_settings_are_one_line_and_exit_two(flags, message, capsys):
    from purerl.cli import main

    assert main([*COMMAND, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
