"""PPO throughput on CartPole-v1: compile seconds and env steps/s for 1, 8 and 32 seeds.

Configuration (the PPO CartPole reference setting): 500k steps per seed, 4 envs × 128
steps, 4 epochs × 4 minibatches. Seeds run vmapped in one program. Run time is the median
of 3 calls of the compiled program.

    python bench/ppo.py [--seeds 1 8 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import THROUGHPUT_COLUMNS, report, throughput  # noqa: E402

from purerl.algos import ppo  # noqa: E402

# Figures stated for a well-known single-file JAX PPO on the same 2-core machine (issue #2).
PEER_STEPS_PER_S = {1: 150_000, 8: 190_000}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=500_000)
    args = parser.parse_args(argv)
    config = ppo.Config(env_id="CartPole-v1", total_timesteps=args.timesteps)
    rows = throughput(ppo, config, args.seeds, args.repeats, PEER_STEPS_PER_S)
    report(
        "ppo",
        rows,
        THROUGHPUT_COLUMNS,
        {"config": {"env_id": config.env_id, "total_timesteps": config.total_timesteps,
                    "num_envs": config.num_envs, "num_steps": config.num_steps,
                    "num_epochs": config.num_epochs, "num_minibatches": config.num_minibatches},
         "peer_steps_per_s": PEER_STEPS_PER_S},
    )  # fmt: skip


if __name__ == "__main__":
    main()
