"""GRPO on 3-digit addition from a weak SFT policy: held-out exact match over a 5-minute run.

Each run is one program, ``grpo.train`` on ``purerl/Addition-3``: the SFT stage (4,096
demonstrations; ``grpo.Config``'s stop at a weak policy, greedy exact match 0.2 on the
demonstrations, or ``--sft-updates`` N: all N updates, no target), then ``--updates``
GRPO updates of 32 prompts × 8 completions,
lr 1e-3 decaying linearly to 0, β = 0.04, held-out greedy exact match (256 held-out
prompts) every ``--eval-every`` updates.
Runs are separate worker processes, one per CPU core at a time, so a run's wall time
(compile + run) is that of one seed alone on one core. Outcome supervision by default;
``--supervision outcome process`` compares the two on the same seeds (the same SFT start).
Writes a table, ``bench/results/<out>.json`` and ``<out>.png`` (the curves; ``--out``
defaults to ``grpo_addition``).

    python bench/grpo_addition.py [--seeds 2] [--first-seed 0] [--updates 3000]
        [--sft-updates N] [--supervision outcome] [--out grpo_addition]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

COLUMNS = ["supervision", "seed", "sft", "grpo_final", "grpo_best", "compile_s", "run_s",
           "wall_s"]  # fmt: skip


def worker(
    supervision: str, seed: int, updates: int, eval_every: int, sft_updates: int | None
) -> dict:
    from math import inf

    import jax
    import numpy as np

    from purerl import lm
    from purerl.algos import grpo

    config = grpo.Config(
        env_id="purerl/Addition-3", lr=1e-3, anneal_lr=True, num_updates=updates,
        eval_every=eval_every, supervision=supervision,
        **({} if sft_updates is None else {"sft_updates": sft_updates, "sft_target": inf}),
    )  # fmt: skip
    key = jax.random.split(jax.random.key(0), seed + 1)[seed]
    start = time.perf_counter()
    compiled = jax.jit(grpo.train).lower(config, key).compile()
    compile_s = time.perf_counter() - start
    state, metrics = jax.block_until_ready(compiled(config, key))
    run_s = time.perf_counter() - start - compile_s
    # The reference policy is the SFT stage's, frozen: its score is the starting point.
    sft = lm.held_out_exact_match(config, state.reference, jax.random.key(1))
    curve = np.asarray(metrics["eval_return"])
    return {
        "supervision": supervision, "seed": seed, "sft_updates": config.sft_updates,
        "sft_target": round(float(config.sft_target), 3) if config.sft_target < inf else None,
        "sft": round(float(sft), 3),
        "grpo_final": round(float(curve[-1]), 3), "grpo_best": round(float(curve.max()), 3),
        "compile_s": round(compile_s, 1), "run_s": round(run_s, 1),
        "wall_s": round(compile_s + run_s, 1),
        "curve": [round(float(x), 3) for x in curve[eval_every - 1 :: eval_every]],
    }  # fmt: skip


def spawn(cores: queue.Queue, args, supervision: str, seed: int) -> dict:
    """One run in a worker process pinned to a core no other run holds."""
    cmd = [sys.executable, __file__, "--worker", supervision, str(seed), "--updates",
           str(args.updates), "--eval-every", str(args.eval_every)]  # fmt: skip
    if args.sft_updates is not None:
        cmd += ["--sft-updates", str(args.sft_updates)]
    core = cores.get()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, {core})
        )
    finally:
        cores.put(core)
    if proc.returncode != 0:
        raise SystemExit(f"run {supervision} seed {seed} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plot(rows: list[dict], eval_every: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        x = [0, *range(eval_every, eval_every * (len(r["curve"]) + 1), eval_every)]
        style = "-" if r["supervision"] == "outcome" else "--"
        ax.plot(x, [r["sft"], *r["curve"]], style, label=f"{r['supervision']}, seed {r['seed']}")
    ax.axhline(0.9, color="grey", lw=0.8)
    ax.set(xlabel="GRPO update", ylabel="held-out exact match (greedy)", ylim=(0, 1),
           title="GRPO on Addition-3 from a weak SFT policy")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed's index")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--sft-updates", type=int, help="the SFT stage's updates, all of "
                        "them (default: grpo.Config's stop at a weak policy)")  # fmt: skip
    parser.add_argument("--supervision", nargs="+", default=["outcome"],
                        choices=["outcome", "process"])  # fmt: skip
    parser.add_argument("--out", default="grpo_addition", help="bench/results/<OUT>.json and .png")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(
            args.worker[0], int(args.worker[1]), args.updates, args.eval_every, args.sft_updates
        )
        print(json.dumps(result))
        return
    if args.seeds < 1 or args.updates < 1 or not 1 <= args.eval_every <= args.updates:
        parser.error("--seeds and --updates must be at least 1, --eval-every in [1, updates]")
    if args.first_seed < 0 or (args.sft_updates is not None and args.sft_updates < 0):
        parser.error("--first-seed and --sft-updates must be at least 0")

    from common import RESULTS, report

    cores = queue.Queue()
    for core in sorted(os.sched_getaffinity(0)):
        cores.put(core)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(s, seed) for s in args.supervision for seed in seeds]
    with ThreadPoolExecutor(cores.qsize()) as pool:
        rows = list(pool.map(lambda job: spawn(cores, args, *job), jobs))
    plot(rows, args.eval_every, RESULTS / f"{args.out}.png")
    report(args.out, rows, COLUMNS, {"updates": args.updates,
                                     "eval_every": args.eval_every})  # fmt: skip


if __name__ == "__main__":
    main()
