"""DDPG, TD3 and SAC throughput: compile seconds and environment steps/s for 1 and 8 seeds
on Pendulum-v1 and brax inverted_pendulum.

The learning tests' settings (64 × 64 networks, minibatch 64, learning starts at 1,000
steps): Pendulum with 1 environment and one gradient step per environment step; brax with
4 environments and one gradient step per 4 environment steps. Seeds run vmapped in one
program; run time is the median of ``--repeats`` calls, compile timed apart. Every
gradient step costs the same before and after ``learning_starts`` (masked, not skipped),
so a short budget measures the steady state.

    python bench/offpolicy.py [--seeds 1 8] [--repeats 3] [--steps 10000] [--brax-steps 40000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import THROUGHPUT_COLUMNS, report, throughput  # noqa: E402

from purerl.algos import ddpg, sac, td3  # noqa: E402

ALGOS = {"ddpg": ddpg, "td3": td3, "sac": sac}
SHARED = dict(learning_starts=1_000, hidden_sizes=(64, 64), batch_size=64)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000, help="Pendulum steps per seed")
    parser.add_argument("--brax-steps", type=int, default=40_000, help="brax steps per seed")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    args = parser.parse_args(argv)
    envs = {
        "Pendulum-v1": dict(num_envs=1, total_timesteps=args.steps),
        "brax/inverted_pendulum": dict(num_envs=4, total_timesteps=args.brax_steps),
    }
    rows = []
    for env_id, env_fields in envs.items():
        for name in args.algos:
            module = ALGOS[name]
            config = module.Config(env_id=env_id, **env_fields, **SHARED)
            for row in throughput(module, config, args.seeds, args.repeats, peer={}):
                row.pop("vs_peer")
                rows.append({"algo": name, "env": env_id, **row})
    columns = ["algo", "env", *[c for c in THROUGHPUT_COLUMNS if c != "vs_peer"]]
    report("offpolicy", rows, columns, {"config": {**SHARED, "envs": envs}})


if __name__ == "__main__":
    main()
