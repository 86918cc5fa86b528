"""XLA:CPU settings that could speed up the peers benchmark's programs, measured side by side:
run time, compile time, the metrics' bits and what the setting changed in the program.

The programs are ``bench/peers.py``'s (its ``SETTINGS``: PPO and DQN on CartPole-v1, 500k
steps, one seed), built as ``import purerl`` builds them (``default``) and with:

- ``small_loops``: XLA:CPU's small-while-loop hoisting (``SmallWhileLoopHoistingPass``)
  with its size limit raised from 1 kB to 1 GB. A hoisted loop becomes one kernel, with no
  per-thunk dispatch in each iteration (the overhead that PPO's rollout, 128 steps of tiny
  ops per update, pays). The pass skips any loop holding a scatter, a sort or a library
  (YNNPACK) fusion, so on its own it reaches only small loops such as the orthogonal
  initialisation's;
- ``no_ynn``: no YNNPACK fusions (dots go to XLA's own emitters);
- ``small_loops+no_ynn``: both, which lets the pass hoist the PPO rollout loop;
- ``fast_compile``: XLA:CPU's ``FAST_COMPILE`` optimisation preset.

XLA reads ``XLA_FLAGS`` when JAX starts, so each measurement is a fresh process; the
settings alternate, ``--rounds`` times per algorithm, and the table gives medians and
their ratio to ``default`` (``speedup`` > 1: faster). Each child compiles once, then times
``--repeats`` calls (its median); the JSON keeps every child's times. ``hoisted``: loops
the pass turned into single kernels (``xla_cpu_small_call`` in the compiled program;
``while_loops`` counts every loop, hoisted ones included); ``same_bits``: every child of
the setting gave the metrics of ``default`` bit for bit (a setting that rounds one sum
differently sends a run on another trajectory, so ``final_return``, one seed's, can differ
by much: read it as "still learns", not as a comparison).

    python bench/xla_settings.py [--algos ppo dqn] [--rounds 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SMALL_LOOPS = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000"
NO_YNN = "--xla_cpu_experimental_ynn_fusion_type="
SETTINGS = {
    "default": "",
    "small_loops": SMALL_LOOPS,
    "no_ynn": NO_YNN,
    "small_loops+no_ynn": f"{SMALL_LOOPS} {NO_YNN}",
    "fast_compile": "--xla_cpu_opt_preset=FAST_COMPILE",
}
COLUMNS = ["algo", "setting", "run_s", "speedup", "compile_s", "hoisted", "while_loops",
           "final_return", "same_bits"]  # fmt: skip


def child(algo: str, repeats: int) -> None:
    """Time ``algo``'s peers program in this process (``XLA_FLAGS`` set by the parent)."""
    import importlib

    import jax
    import numpy as np
    from common import metrics_digest, time_calls, time_compile
    from peers import SETTINGS as PROGRAMS

    module = importlib.import_module(f"purerl.algos.{algo}")
    config = module.Config(**PROGRAMS[algo])
    key = jax.random.key(0)
    compile_s, compiled = time_compile(module.train, config, key)
    runs, (_, metrics) = time_calls(compiled, config, key, repeats=repeats)
    text = compiled.as_text()
    print(json.dumps({
        "compile_s": compile_s,
        "run_s": statistics.median(runs),
        "hoisted": text.count('xla_cpu_small_call="true"'),
        "while_loops": text.count(" while("),
        "final_return": float(np.asarray(metrics["episode_return"])[-1]),
        "metrics_sha256": metrics_digest(metrics),
    }))  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["ppo", "dqn"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rounds", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.child:
        return child(args.child, args.repeats)
    from common import report, run_child

    import purerl  # noqa: F401  (adds its flag to XLA_FLAGS: every child starts from it)

    base = os.environ.get("XLA_FLAGS", "")
    settings = ["default", *(s for s in args.settings if s != "default")]
    rows = []
    for algo in args.algos:
        runs = {s: [] for s in settings}
        for r in range(args.rounds):
            for s in settings if r % 2 == 0 else settings[::-1]:
                child_argv = [__file__, "--child", algo, "--repeats", str(args.repeats)]
                runs[s].append(run_child(child_argv, f"{base} {SETTINGS[s]}".strip()))
        med = {s: {k: statistics.median(x[k] for x in v) for k in ("compile_s", "run_s")}
               for s, v in runs.items()}  # fmt: skip
        reference = {x["metrics_sha256"] for x in runs["default"]}
        for s, v in runs.items():
            rows.append({
                "algo": algo,
                "setting": s,
                "run_s": round(med[s]["run_s"], 2),
                "speedup": round(med["default"]["run_s"] / med[s]["run_s"], 2),
                "compile_s": round(med[s]["compile_s"], 2),
                "hoisted": v[0]["hoisted"],
                "while_loops": v[0]["while_loops"],
                "final_return": round(statistics.median(x["final_return"] for x in v), 1),
                "same_bits": "yes" if {x["metrics_sha256"] for x in v} == reference else "no",
                "run_s_each": [round(x["run_s"], 2) for x in v],
                "compile_s_each": [round(x["compile_s"], 2) for x in v],
            })  # fmt: skip
    config = {"rounds": args.rounds, "repeats": args.repeats, "settings": SETTINGS}
    report("xla_settings", rows, COLUMNS, {"config": config})


if __name__ == "__main__":
    main()
