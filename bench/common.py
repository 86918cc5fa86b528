"""Shared benchmark plumbing: compile and run timed apart, medians, a table and a JSON file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

RESULTS = Path(__file__).parent / "results"


def time_compile(fn: Callable, *args: Any) -> tuple[float, Any]:
    """(seconds, compiled program) of tracing and compiling ``jax.jit(fn)`` for ``args``."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start, compiled


def time_runs(fn: Callable, *args: Any, repeats: int = 3) -> tuple[float, list[float], Any]:
    """(compile seconds, each call's run seconds, output) of ``jax.jit(fn)(*args)``."""
    compile_s, compiled = time_compile(fn, *args)
    runs, out = time_calls(compiled, *args, repeats=repeats)
    return compile_s, runs, out


def time_calls(compiled: Any, *args: Any, repeats: int = 3) -> tuple[list[float], Any]:
    """(each call's run seconds, the last output) of ``repeats`` calls, results blocked on."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        runs.append(time.perf_counter() - start)
    return runs, out


def metrics_digest(metrics: dict[str, Any]) -> str:
    """SHA-256 of every metric's name, dtype, shape and bytes, in name order: equal digests,
    bit-identical runs."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for name in sorted(metrics):
        value = np.asarray(metrics[name])
        digest.update(f"{name}:{value.dtype}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def run_child(argv: list[str], xla_flags: str) -> dict[str, Any]:
    """Run ``python argv`` in a fresh process with ``XLA_FLAGS=xla_flags`` (XLA reads it
    once, when JAX starts) and return the JSON object its last output line prints. A child
    that fails stops the benchmark with the end of its error output."""
    import subprocess
    import sys

    env = {**os.environ, "XLA_FLAGS": xla_flags}
    out = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(
            f"a benchmark process failed (exit {out.returncode}, XLA_FLAGS={xla_flags!r}): "
            f"{' '.join(argv)}\n{out.stderr[-2000:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_program(fn: Callable, *args: Any, repeats: int = 3) -> tuple[float, float, Any]:
    """(compile seconds, median run seconds, output) of ``jax.jit(fn)(*args)``."""
    compile_s, runs, out = time_runs(fn, *args, repeats=repeats)
    return compile_s, statistics.median(runs), out


def environment_only(config: Any, keys: jax.Array, repeats: int) -> float:
    """The physical limit of a run's throughput: env steps/s of its environments alone —
    the same ``num_envs`` per seed, ``num_steps`` per update and number of updates, with
    random actions, automatic resets and episode statistics (``rollout.collect``), in one
    ``lax.scan``, seeds vmapped; no network and no learning."""
    from purerl import envs, offpolicy, rollout

    env = envs.from_config(config)
    act = offpolicy.random_policy(env)

    def run(key):
        k_reset, k_steps = jax.random.split(key)
        carry = rollout.reset(env, k_reset, config.num_envs)

        def update(carry, k):
            traj, carry = rollout.collect(env, act, carry, k, config.num_steps)
            return carry, traj.reward.sum()

        carry, rewards = jax.lax.scan(update, carry, jax.random.split(k_steps, config.num_updates))
        # The final carry too: where the reward is constant (CartPole, brax's inverted
        # pendulum: 1 per step), XLA would otherwise drop the physics as dead code.
        return carry, rewards.sum()

    _, run_s, _ = time_program(jax.vmap(run), keys, repeats=repeats)
    return keys.shape[0] * config.num_updates * config.steps_per_update / run_s


def product_rate(batch: int, n_in: int, n_out: int, repeats: int = 3) -> float:
    """FLOP/s of one ``[batch, n_in] × [n_in, n_out]`` product alone: a network layer's
    forward product at the rate this machine gives it, median of ``repeats`` timed loops
    of ~2·10¹⁰ FLOPs (each step's input scaled by the step number, so that XLA cannot hoist
    the product out of the loop)."""
    flops = 2.0 * batch * n_in * n_out
    steps = max(100, int(2e10 / flops))
    x = jax.random.normal(jax.random.key(0), (batch, n_in))
    w = jax.random.normal(jax.random.key(1), (n_in, n_out))

    def loop(x, w):
        step = lambda i, acc: acc + (x * (1.0 + i.astype(x.dtype) * 1e-9)) @ w  # noqa: E731
        return jax.lax.fori_loop(0, steps, step, jnp.zeros((batch, n_out), x.dtype))

    _, run_s, _ = time_program(loop, x, w, repeats=repeats)
    return steps * flops / run_s


def throughput(
    module: Any, config: Any, seeds_list: list[int], repeats: int, peer: dict[int, float]
) -> list[dict[str, Any]]:
    """One row per seed count: compile s, run s, env steps/s, the environment-only limit
    (``environment_only``, measured in the same invocation) and the fraction of it reached,
    and the ratio to ``peer``."""
    import numpy as np

    train = jax.vmap(module.train, in_axes=(None, 0))
    rows = []
    for seeds in seeds_list:
        keys = jax.random.split(jax.random.key(0), seeds)
        compile_s, run_s, (_, metrics) = time_program(train, config, keys, repeats=repeats)
        steps = seeds * config.num_updates * config.steps_per_update
        limit = environment_only(config, keys, repeats)
        row = {
            "seeds": seeds,
            "compile_s": round(compile_s, 2),
            "run_s": round(run_s, 2),
            "steps_per_s": round(steps / run_s),
            "env_only_steps_per_s": round(limit),
            "of_limit": round(steps / run_s / limit, 3),
            "final_return": round(float(np.mean(metrics["episode_return"][:, -1])), 1),
        }
        row["vs_peer"] = round(row["steps_per_s"] / peer[seeds], 2) if seeds in peer else "-"
        rows.append(row)
    return rows


THROUGHPUT_COLUMNS = ["seeds", "compile_s", "run_s", "steps_per_s", "env_only_steps_per_s",
                      "of_limit", "final_return", "vs_peer"]  # fmt: skip


def machine() -> dict[str, Any]:
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": len(jax.devices()),
        "processor": platform.processor() or platform.machine(),
        # The cores this process (and the workers it starts) may run on: XLA:CPU sizes its
        # thread pools to them, and a run pinned to one core times differently.
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),  # with what ``import purerl`` adds
        "date": time.strftime("%Y-%m-%d"),
    }


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """``rows``' ``columns``, right-aligned under a header line."""
    widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r[c]).rjust(w) for c, w in zip(columns, widths)))


def report(name: str, rows: list[dict[str, Any]], columns: list[str], extra: dict | None = None):
    """Print ``rows`` as a table and write ``bench/results/<name>.json``."""
    print_table(rows, columns)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), "rows": rows, **(extra or {})}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.2f}"
    return f"{x:,}" if isinstance(x, int) else str(x)
