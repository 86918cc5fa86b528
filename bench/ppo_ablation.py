"""The PPO paper's Table 1: which surrogate objective, on seven continuous-control tasks.

Rows: no clipping or penalty; clipping ε = 0.1, 0.2, 0.3; adaptive KL d_targ = 0.003,
0.01, 0.03; fixed KL β = 0.3, 1, 3, 10. Tasks: the paper's seven MuJoCo tasks as brax
environments. Each (row, seed) trains PPO with the paper's MuJoCo settings (2048 steps per
update, 10 epochs of minibatches of 64, Adam 3e-4, γ = 0.99, λ = 0.95, 64-64 tanh
networks, no entropy bonus) — here as 8 environments × 256 steps — and observation
normalization. All 11 rows × seeds of one task run in ONE compiled program: PPO's
``objective="clip_kl"`` takes every row as array hyperparameters (ε = ∞ for no clipping,
β = 0 for no penalty, adaptation factor 1 for a fixed β, 2 for the adaptive rule).

Score per task = mean over seeds of the mean return of the last 100 episodes, normalized
so that a uniformly random policy scores 0 and the best row scores 1; the table averages
the normalized scores over tasks and prints the paper's numbers beside ours.

    python bench/ppo_ablation.py            # 7 tasks, 1M steps, 3 seeds (hours on a CPU)
    python bench/ppo_ablation.py --quick    # the 3 cheapest tasks, 150k steps (< 30 min)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, machine  # noqa: E402

from purerl import envs  # noqa: E402
from purerl.algos import ppo  # noqa: E402
from purerl.config import sweep_axes  # noqa: E402
from purerl.envs import episode_stats  # noqa: E402

TASKS = (
    "halfcheetah", "hopper", "inverted_double_pendulum", "inverted_pendulum", "reacher",
    "swimmer", "walker2d",
)  # fmt: skip
# The cheapest to simulate on the 2-core CPU this was written on: random actions in 264
# environments stepped inverted_pendulum 67.8k/s, inverted_double_pendulum 32.7k/s,
# reacher 10.6k/s, swimmer 5.6k/s, hopper 4.9k/s, walker2d 4.0k/s, halfcheetah 2.1k/s.
QUICK_TASKS = ("inverted_pendulum", "inverted_double_pendulum", "reacher")
QUICK_TIMESTEPS = 150_000

INF = float("inf")
NONE = dict(clip_eps=INF, kl_beta=0.0, kl_adapt_factor=1.0, kl_target=0.01)
# (label, hyperparameters of PPO's "clip_kl" objective, the paper's averaged score)
ROWS = [
    ("No clipping or penalty", NONE, -0.39),
    ("Clipping, eps = 0.1", {**NONE, "clip_eps": 0.1}, 0.76),
    ("Clipping, eps = 0.2", {**NONE, "clip_eps": 0.2}, 0.82),
    ("Clipping, eps = 0.3", {**NONE, "clip_eps": 0.3}, 0.70),
    (
        "Adaptive KL, d_targ = 0.003",
        {**NONE, "kl_beta": 1.0, "kl_adapt_factor": 2.0, "kl_target": 0.003},
        0.68,
    ),  # noqa: E501
    (
        "Adaptive KL, d_targ = 0.01",
        {**NONE, "kl_beta": 1.0, "kl_adapt_factor": 2.0, "kl_target": 0.01},
        0.74,
    ),  # noqa: E501
    (
        "Adaptive KL, d_targ = 0.03",
        {**NONE, "kl_beta": 1.0, "kl_adapt_factor": 2.0, "kl_target": 0.03},
        0.71,
    ),  # noqa: E501
    ("Fixed KL, beta = 0.3", {**NONE, "kl_beta": 0.3}, 0.62),
    ("Fixed KL, beta = 1", {**NONE, "kl_beta": 1.0}, 0.71),
    ("Fixed KL, beta = 3", {**NONE, "kl_beta": 3.0}, 0.72),
    ("Fixed KL, beta = 10", {**NONE, "kl_beta": 10.0}, 0.69),
]


def base_config(task: str, timesteps: int, rows: list[dict], seeds: int) -> ppo.Config:
    """One config whose swept leaves hold every (row, seed) pair, rows major."""
    swept = {
        name: jnp.repeat(jnp.asarray([r[name] for r in rows], jnp.float32), seeds)
        for name in rows[0]
    }
    return ppo.Config(
        env_id=f"brax/{task}",
        objective="clip_kl",
        num_envs=8,
        num_steps=256,
        total_timesteps=timesteps,
        num_epochs=10,
        num_minibatches=32,
        lr=3e-4,
        gamma=0.99,
        gae_lambda=0.95,
        ent_coef=0.0,
        max_grad_norm=1e6,  # the paper does not clip gradients
        anneal_lr=False,
        clip_value_loss=False,
        normalize_obs=True,
        **swept,
    )


def random_policy_return(task: str, num_envs: int = 16) -> float:
    """Mean return of the first episode of ``num_envs`` uniformly random policies."""
    env = envs.make(f"brax/{task}")
    steps = env.max_episode_steps

    def run(key):
        k_reset, k_run = jax.random.split(key)
        _, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))
        shape = (num_envs, *env.action_space.shape)

        def body(carry, key):
            state, stats, first = carry
            k_act, k_env = jax.random.split(key)
            action = jax.random.uniform(
                k_act, shape, minval=env.action_space.low, maxval=env.action_space.high
            )
            _, state, reward, term, trunc, _ = jax.vmap(env.step)(
                jax.random.split(k_env, num_envs), state, action
            )
            done = jnp.logical_or(term, trunc)
            stats, ep_return, _ = episode_stats.step(stats, reward, done)
            return (state, stats, first & ~done), (ep_return, done & first)

        init = (state, episode_stats.init(num_envs), jnp.ones(num_envs, bool))
        _, (ep_return, ended) = jax.lax.scan(body, init, jax.random.split(k_run, steps))
        return jnp.sum(jnp.where(ended, ep_return, 0.0)) / jnp.maximum(jnp.sum(ended), 1)

    return float(jax.jit(run)(jax.random.key(123)))


def run_task(task: str, timesteps: int, seeds: int) -> dict:
    rows = [hp for _, hp, _ in ROWS]
    config = base_config(task, timesteps, rows, seeds)
    keys = jnp.tile(jax.random.split(jax.random.key(0), seeds), len(rows))
    train = jax.jit(jax.vmap(ppo.train, in_axes=(sweep_axes(config), 0)))
    start = time.perf_counter()
    compiled = train.lower(config, keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    _, metrics = jax.block_until_ready(compiled(config, keys))
    run_s = time.perf_counter() - start
    final = np.asarray(metrics["episode_return"][:, -1]).reshape(len(rows), seeds)
    return {
        "task": task,
        "returns": final.tolist(),  # [row][seed]
        "random_return": random_policy_return(task),
        "compile_s": round(compile_s, 1),
        "run_s": round(run_s, 1),
        "env_steps": int(len(rows) * seeds * config.num_updates * config.steps_per_update),
    }


def normalized_scores(results: list[dict]) -> np.ndarray:
    """``[tasks, rows]``: (mean return − random) / (best row's mean return − random)."""
    scores = []
    for r in results:
        mean = np.asarray(r["returns"]).mean(axis=1)
        best, rand = mean.max(), r["random_return"]
        scores.append((mean - rand) / max(best - rand, 1e-8))
    return np.asarray(scores)


def table(results: list[dict]) -> str:
    scores = normalized_scores(results)
    lines = [f"{'setting':<30} {'ours':>6} {'paper':>6}   " + "  ".join(
        f"{r['task'][:12]:>12}" for r in results
    )]  # fmt: skip
    for i, (label, _, paper) in enumerate(ROWS):
        per_task = "  ".join(f"{np.mean(r['returns'][i]):>12.1f}" for r in results)
        lines.append(f"{label:<30} {scores[:, i].mean():>6.2f} {paper:>6.2f}   {per_task}")
    rand = "  ".join(f"{r['random_return']:>12.1f}" for r in results)
    lines.append(f"{'(random policy return)':<30} {'':>6} {'':>6}   {rand}")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = normalized_scores(results).mean(axis=0)
    labels = [label for label, _, _ in ROWS]
    y = np.arange(len(ROWS))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh(y - 0.2, scores, 0.4, label="purerl (" + ", ".join(r["task"] for r in results) + ")")
    ax.barh(y + 0.2, [p for _, _, p in ROWS], 0.4, label="PPO paper, Table 1 (7 tasks)")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.axvline(0.0, color="k", lw=0.5)
    ax.set_xlabel("normalized score (random = 0, best setting per task = 1)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.4, -0.13), ncol=1)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 cheapest tasks, 150k steps")
    parser.add_argument("--tasks", nargs="+", choices=TASKS)
    parser.add_argument("--timesteps", type=int)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--replot", type=Path, help="redraw the figure of a results JSON")
    args = parser.parse_args(argv)
    if args.replot:
        plot(json.loads(args.replot.read_text())["tasks"], args.replot.with_suffix(".png"))
        return
    tasks = tuple(args.tasks or (QUICK_TASKS if args.quick else TASKS))
    timesteps = args.timesteps or (QUICK_TIMESTEPS if args.quick else 1_000_000)
    if timesteps < 2048:
        parser.error("--timesteps must be at least 2048 (one update)")
    if args.quick:
        name = "ppo_ablation_quick"
    elif tasks == TASKS and timesteps == 1_000_000 and args.seeds == 3:
        name = "ppo_ablation"
    else:
        name = "ppo_ablation_custom"
    print(f"{len(ROWS)} settings × {args.seeds} seeds × {len(tasks)} tasks, {timesteps:,} steps")
    results = []
    for i, task in enumerate(tasks):
        r = run_task(task, timesteps, args.seeds)
        results.append(r)
        print(
            f"[{i + 1}/{len(tasks)}] {task}: compiled in {r['compile_s']} s, "
            f"{r['env_steps']:,} steps in {r['run_s']} s", flush=True
        )  # fmt: skip
    print(table(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name, "machine": machine(), "timesteps": timesteps, "seeds": args.seeds,
        "rows": [{"setting": label, "hyperparameters": hp, "paper": paper}
                 for label, hp, paper in ROWS],
        "scores": normalized_scores(results).mean(axis=0).round(3).tolist(), "tasks": results,
    }  # fmt: skip
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    plot(results, RESULTS / f"{name}.png")
    print(f"wrote {RESULTS / name}.json and .png")


if __name__ == "__main__":
    main()
