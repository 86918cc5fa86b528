"""``make demo``: PPO on CartPole-v1 over 8 seeds in one vmapped program, with a summary."""

from __future__ import annotations

import time

import jax
import numpy as np

from purerl.algos import ppo


def main(seeds: int = 8) -> None:
    config = ppo.Config(env_id="CartPole-v1")
    keys = jax.random.split(jax.random.key(0), seeds)
    train = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))
    print(f"PPO on {config.env_id}: {seeds} seeds × {config.total_timesteps:,} steps, one program")
    start = time.perf_counter()
    compiled = train.lower(config, keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    _, metrics = jax.block_until_ready(compiled(config, keys))
    run_s = time.perf_counter() - start
    returns = np.asarray(metrics["episode_return"])  # [seeds, updates]
    steps = np.asarray(metrics["env_steps"][0])
    print(f"compiled in {compile_s:.1f} s, trained in {run_s:.1f} s "
          f"({seeds * config.total_timesteps / run_s:,.0f} env steps/s over all seeds)")
    print(f"{'env steps':>10}  {'mean return':>11}  {'min':>6}  {'max':>6}")
    for i in np.linspace(0, returns.shape[1] - 1, 6).astype(int):
        col = returns[:, i]
        print(f"{steps[i]:>10,}  {col.mean():>11.1f}  {col.min():>6.1f}  {col.max():>6.1f}")
    print(f"final mean return over the last 100 episodes, per seed: {np.round(returns[:, -1], 1)}")


if __name__ == "__main__":
    main()
