"""Overestimation in DQN vs Double DQN on a chain whose true action values are all 0.

The environment is ``purerl/NoisyChain``: ``length`` states in a row, every one of
``num_actions`` actions moves one step right, the episode ends after the last state, and
every reward is N(0, σ²) — so Q*(s, a) = 0 for every state and action, in closed form. DQN
and Double DQN learn from a uniformly random behaviour policy (ε = 1: off-policy, every
action tried equally). We report the estimated values over training — the mean of
Q(s, a) over replayed pairs, and at the end max_a Q(s, a) averaged over the chain's states —
against the truth, for several numbers of actions.

    python bench/overestimation.py [--actions 2 8 32] [--seeds 4] [--timesteps 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, report  # noqa: E402

from purerl.algos import dqn  # noqa: E402

TRUE_VALUE = 0.0
LENGTH, NOISE = 5, 1.0


def run(num_actions: int, double: bool, seeds: int, timesteps: int, target_interval: int):
    config = dqn.Config(
        env_id="purerl/NoisyChain",
        env_kwargs=dict(length=LENGTH, num_actions=num_actions, reward_noise=NOISE),
        double=double, total_timesteps=timesteps, num_envs=10, buffer_size=10_000,
        batch_size=64, learning_starts=1_000, target_update_interval=target_interval,
        hidden_sizes=(64, 64), epsilon_start=1.0, epsilon_end=1.0, lr=2.5e-4, gamma=0.99,
    )  # fmt: skip
    keys = jax.random.split(jax.random.key(0), seeds)
    state, metrics = jax.jit(jax.vmap(dqn.train, in_axes=(None, 0)))(config, keys)
    chain = np.eye(LENGTH + 1, dtype=np.float32)[:LENGTH]  # one-hot observations of the chain
    q = np.asarray(jax.vmap(lambda m: jax.vmap(m)(chain))(state.model))  # [seeds, L, A]
    return np.asarray(metrics["env_steps"][0]), np.asarray(metrics["q_mean"]), q


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--target-interval", type=int, default=500, help="env steps")
    parser.add_argument("--name", default="overestimation", help="results file name")
    args = parser.parse_args(argv)

    rows, curves = [], {}
    for num_actions in args.actions:
        for double in (False, True):
            name = "Double DQN" if double else "DQN"
            start = time.perf_counter()
            steps, q_mean, q = run(
                num_actions, double, args.seeds, args.timesteps, args.target_interval
            )
            curves[(num_actions, name)] = (steps, q_mean.mean(0))
            checkpoints = {f"q@{int(f * 100)}%": float(q_mean.mean(0)[int(f * (len(steps) - 1))])
                           for f in (0.25, 0.5, 1.0)}  # fmt: skip
            rows.append({
                "actions": num_actions, "algorithm": name,
                **{k: round(v, 3) for k, v in checkpoints.items()},
                "final max_a Q": round(float(q.max(-1).mean()), 3),
                "sd over seeds": round(float(q.max(-1).mean(-1).std()), 3),
                "true": TRUE_VALUE, "wall_s": round(time.perf_counter() - start, 1),
            })  # fmt: skip
    gaps = {}
    for num_actions in args.actions:
        by = {r["algorithm"]: r["final max_a Q"] for r in rows if r["actions"] == num_actions}
        gaps[num_actions] = round(by["DQN"] - by["Double DQN"], 3)
    columns = ["actions", "algorithm", "q@25%", "q@50%", "q@100%", "final max_a Q",
               "sd over seeds", "true"]  # fmt: skip
    report(
        args.name,
        rows,
        columns,
        {"setup": {"env": "purerl/NoisyChain", "length": LENGTH, "reward_noise": NOISE,
                   "timesteps": args.timesteps, "seeds": args.seeds,
                   "target_update_interval": args.target_interval},
         "dqn_minus_double_final_max_q": gaps},
    )  # fmt: skip
    print("DQN − Double DQN, final max_a Q:", gaps)

    fig, axes = plt.subplots(1, len(args.actions), figsize=(4 * len(args.actions), 3.4), dpi=110,
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, num_actions in zip(axes[0], args.actions):
        for name in ("DQN", "Double DQN"):
            steps, curve = curves[(num_actions, name)]
            ax.plot(steps, curve, label=name)
        ax.axhline(TRUE_VALUE, color="k", ls="--", lw=1, label="true value")
        ax.set_title(f"{num_actions} actions")
        ax.set_xlabel("environment steps")
    axes[0][0].set_ylabel("mean Q(s, a) on replayed pairs")
    axes[0][0].legend()
    fig.tight_layout()
    png = RESULTS / f"{args.name}.png"
    fig.savefig(png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
