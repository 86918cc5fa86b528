"""DQN throughput on CartPole-v1: compile seconds and env steps/s for 1 and 8 seeds.

Configuration (issue #4): 500k steps per seed, 10 envs, buffer 10k, batch 128, one
gradient step every 10 env steps (one vectorized step per update), CleanRL's other
defaults (120-84 ReLU network, target copy every 500 steps, learning starts at 10k).
Seeds run vmapped in one program; run time is the median of 3 calls.

    python bench/dqn.py [--seeds 1 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import THROUGHPUT_COLUMNS, report, throughput  # noqa: E402

from purerl.algos import dqn  # noqa: E402

# The figure stated for a well-known single-file JAX DQN on the same machine (issue #4).
PEER_STEPS_PER_S = {1: 45_000}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=500_000)
    args = parser.parse_args(argv)
    config = dqn.Config(
        env_id="CartPole-v1", total_timesteps=args.timesteps, num_envs=10, num_steps=1,
        gradient_steps=1, buffer_size=10_000, batch_size=128,
    )  # fmt: skip
    rows = throughput(dqn, config, args.seeds, args.repeats, PEER_STEPS_PER_S)
    fields = (
        "total_timesteps", "num_envs", "num_steps", "gradient_steps", "buffer_size",
        "batch_size", "learning_starts", "target_update_interval", "hidden_sizes",
    )  # fmt: skip
    report(
        "dqn",
        rows,
        THROUGHPUT_COLUMNS,
        {"config": {f: getattr(config, f) for f in fields}, "peer_steps_per_s": PEER_STEPS_PER_S},
    )


if __name__ == "__main__":
    main()
