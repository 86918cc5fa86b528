"""XLA:CPU copy insertion with and without region analysis (``purerl.xla_flags``): run time,
compile time and the metrics' bits, side by side.

XLA reads ``XLA_FLAGS`` when JAX starts, so each measurement is a child process with the
flag set to true or false; the two settings alternate, ``--rounds`` times per case, and
the table gives medians and their ratio. Each child compiles once, then times
``--repeats`` calls (its median). ``reproducible``: every child of a setting gave the same
metrics bit for bit; ``same_bits``: both settings did (the flag changes which copies XLA
makes, which can change the last bit of a sum: then the runs drift apart as under any
rounding change). Cases: DDPG, TD3 and SAC on Pendulum with the learning tests' settings
(one environment: one transition stored per update), SAC on brax inverted_pendulum (4
environments), and PPO and DQN on CartPole-v1 with their defaults.

    python bench/copy_insertion.py [--rounds 3] [--repeats 2] [--seeds 4] [--cases td3 sac]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from purerl.xla_flags import set_flag  # noqa: E402  (importing purerl starts no JAX backend)

PENDULUM = dict(env_id="Pendulum-v1", total_timesteps=5_000, learning_starts=1_000,
                hidden_sizes=(64, 64), batch_size=64)  # fmt: skip
CASES = {
    "ddpg": ("ddpg", PENDULUM),
    "td3": ("td3", PENDULUM),
    "sac": ("sac", PENDULUM),
    "sac-brax": (
        "sac",
        {**PENDULUM, "env_id": "brax/inverted_pendulum", "num_envs": 4, "total_timesteps": 20_000},
    ),
    "ppo": ("ppo", dict(env_id="CartPole-v1", total_timesteps=200_000)),
    "dqn": ("dqn", dict(env_id="CartPole-v1", total_timesteps=100_000)),
}


def child(case: str, seeds: int, repeats: int) -> None:
    """Time one case in this process (``XLA_FLAGS`` set by the parent); print JSON."""
    import importlib

    import jax
    from common import metrics_digest, time_runs

    algo, fields = CASES[case]
    module = importlib.import_module(f"purerl.algos.{algo}")
    config = module.Config(**fields)
    keys = jax.random.split(jax.random.key(0), seeds)
    train = jax.vmap(module.train, in_axes=(None, 0))
    compile_s, runs, (_, metrics) = time_runs(train, config, keys, repeats=repeats)
    print(json.dumps({"compile_s": compile_s, "run_s": statistics.median(runs),
                      "metrics_sha256": metrics_digest(metrics)}))  # fmt: skip


def measure(case: str, region: bool, seeds: int, repeats: int) -> dict:
    from common import run_child

    # import purerl set FLAG=true in this process's XLA_FLAGS: the child names it once
    argv = [__file__, "--child", case, "--seeds", str(seeds), "--repeats", str(repeats)]
    return run_child(argv, set_flag(os.environ.get("XLA_FLAGS", ""), region))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--child", choices=list(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.seeds, args.repeats)
    from common import report

    rows = []
    for case in args.cases:
        runs = {True: [], False: []}
        for _ in range(args.rounds):
            for region in (True, False):
                runs[region].append(measure(case, region, args.seeds, args.repeats))
        med = {r: {k: statistics.median(x[k] for x in v) for k in ("compile_s", "run_s")}
               for r, v in runs.items()}  # fmt: skip
        digests = {r: {x["metrics_sha256"] for x in v} for r, v in runs.items()}
        rows.append({
            "case": case,
            "run_s_default": round(med[False]["run_s"], 2),
            "run_s_region": round(med[True]["run_s"], 2),
            "speedup": round(med[False]["run_s"] / med[True]["run_s"], 2),
            "compile_s_default": round(med[False]["compile_s"], 1),
            "compile_s_region": round(med[True]["compile_s"], 1),
            "reproducible": "yes" if all(len(d) == 1 for d in digests.values()) else "no",
            "same_bits": "yes" if len(digests[True] | digests[False]) == 1 else "no",
        })  # fmt: skip
    columns = list(rows[0])
    config = {"seeds": args.seeds, "rounds": args.rounds, "repeats": args.repeats,
              "cases": {c: CASES[c] for c in args.cases}}  # fmt: skip
    report("copy_insertion", rows, columns, {"config": config})


if __name__ == "__main__":
    main()
