"""Reward over-optimization: RLHF-PPO against a reward model whose comparisons also favour
length, at KL penalties β ∈ {0, small, larger}.

The labeler prefers the completion with fewer mistakes, but its rejected completions are
never longer than the chosen ones (``reward_model.Config(labeler="length_biased")``): in
the data, "longer" goes with "better" as well as "right". RLHF-PPO then maximizes that
proxy. For each β the program (one ``vmap`` over β × seeds, SFT and reward model trained
inside it) records the normalized proxy reward, the true reward (the verifier's exact match
of the sampled completions, which the policy never sees), the sampled KL to the SFT policy
and the completion length per update. One figure: proxy and true reward against KL.

    python bench/reward_hacking.py [--env purerl/Reverse-4] [--updates 150] [--seeds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, report  # noqa: E402

from purerl.algos import rlhf_ppo  # noqa: E402
from purerl.config import sweep_axes  # noqa: E402

BETAS = (0.0, 0.02, 0.2)
COLUMNS = ["beta", "labeler", "proxy_start", "proxy_end", "true_start", "true_end", "kl_end",
           "length_end"]  # fmt: skip


def run(env_id: str, labeler: str, updates: int, seeds: int) -> dict[str, np.ndarray]:
    """Metrics ``[β, seed, update]`` of one program over β × seeds."""
    betas = np.repeat(np.asarray(BETAS, np.float32), seeds)
    config = rlhf_ppo.Config(
        env_id=env_id, sft_updates=40, sft_batch_size=64, rm_updates=200, rm_prompts=16384,
        rm_labeler=labeler, num_updates=updates, beta=betas,
    )  # fmt: skip
    keys = jax.random.split(jax.random.key(0), seeds)
    keys = jax.numpy.tile(keys, len(BETAS))  # the same seeds (SFT, reward model) per β
    train = jax.jit(jax.vmap(rlhf_ppo.train, in_axes=(sweep_axes(config), 0)))
    start = time.perf_counter()
    _, metrics = jax.block_until_ready(train(config, keys))
    print(
        f"{labeler}: {len(betas)} runs × {updates} updates in {time.perf_counter() - start:.0f} s"
    )
    shape = (len(BETAS), seeds, updates)
    names = ("reward", "true_reward", "kl", "completion_length")
    return {k: np.asarray(metrics[k]).reshape(shape) for k in names}


def rows_of(metrics: dict[str, np.ndarray], labeler: str) -> list[dict]:
    def window(name, b, part):
        x = metrics[name][b]  # [seed, update]
        return float(np.mean(x[:, :5] if part == "start" else x[:, -10:]))

    return [
        {
            "beta": beta,
            "labeler": labeler,
            "proxy_start": round(window("reward", b, "start"), 3),
            "proxy_end": round(window("reward", b, "end"), 3),
            "true_start": round(window("true_reward", b, "start"), 3),
            "true_end": round(window("true_reward", b, "end"), 3),
            "kl_end": round(window("kl", b, "end"), 3),
            "length_end": round(window("completion_length", b, "end"), 2),
        }  # fmt: skip
        for b, beta in enumerate(BETAS)
    ]


def plot(runs: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110, sharex=True)
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(BETAS)))
    for labeler, metrics in runs.items():
        style = "-" if labeler == "length_biased" else ":"
        for b, beta in enumerate(BETAS):
            kl = metrics["kl"][b].mean(axis=0)
            for ax, name in zip(axes, ("reward", "true_reward")):
                ax.plot(kl, metrics[name][b].mean(axis=0), style, color=colors[b], lw=1.4,
                        label=f"β={beta:g} ({labeler})")  # fmt: skip
    axes[0].set_ylabel("proxy reward (normalized reward model)")
    axes[1].set_ylabel("true reward (exact match of samples)")
    for ax in axes:
        ax.set_xlabel("KL to the SFT policy (nats per completion)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.suptitle("RLHF-PPO against a learned reward model: proxy vs true reward")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="purerl/Reverse-4")
    parser.add_argument("--updates", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--labelers", nargs="+", default=["length_biased", "fair"])
    args = parser.parse_args(argv)
    runs = {lab: run(args.env, lab, args.updates, args.seeds) for lab in args.labelers}
    rows = [row for lab, metrics in runs.items() for row in rows_of(metrics, lab)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(runs, RESULTS / "reward_hacking.png")
    report("reward_hacking", rows, COLUMNS, {
        "config": {"env_id": args.env, "updates": args.updates, "seeds": args.seeds,
                   "betas": list(BETAS), "start": "mean of updates 1-5",
                   "end": "mean of the last 10 updates"},
        "figure": "bench/results/reward_hacking.png",
    })  # fmt: skip


if __name__ == "__main__":
    main()
