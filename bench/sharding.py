"""An 8-seed PPO CartPole sweep, unsharded (1 host device) vs sharded over 2 host devices.

Each arm runs in its own process because the host device count is fixed when JAX starts
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``). Run time excludes compilation.

    python bench/sharding.py [--seeds 8] [--timesteps 500000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report, run_child  # noqa: E402

ARM = """
import json, sys, jax
from purerl.algos import ppo
from purerl.experiment import sweep
seeds, steps = int(sys.argv[1]), int(sys.argv[2])
r = sweep(ppo, ppo.Config(total_timesteps=steps), seeds=seeds)
total = seeds * r.config.num_updates * r.config.steps_per_update
print(json.dumps({"devices": len(jax.devices()), "compile_s": r.compile_s, "run_s": r.run_s,
                  "steps_per_s": total / r.run_s,
                  "final_return": float(r.metrics["episode_return"][..., -1].mean())}))
"""


def arm(devices: int, seeds: int, steps: int) -> dict:
    flags = f"--xla_force_host_platform_device_count={devices}"
    return run_child(["-c", ARM, str(seeds), str(steps)], flags)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=500_000)
    args = parser.parse_args(argv)
    rows = []
    for devices in (1, 2):
        r = arm(devices, args.seeds, args.timesteps)
        rows.append({"devices": r["devices"], "seeds": args.seeds,
                     "compile_s": round(r["compile_s"], 2), "run_s": round(r["run_s"], 2),
                     "steps_per_s": round(r["steps_per_s"]),
                     "final_return": round(r["final_return"], 1)})  # fmt: skip
    speedup = rows[1]["steps_per_s"] / rows[0]["steps_per_s"]
    for row in rows:
        row["speedup"] = round(row["steps_per_s"] / rows[0]["steps_per_s"], 2)
    report("sharding", rows, ["devices", "seeds", "compile_s", "run_s", "steps_per_s",
                              "final_return", "speedup"],
           {"speedup": round(speedup, 2)})  # fmt: skip


if __name__ == "__main__":
    main()
