"""Shared by the learning tests: train several seeds in one program, report final returns.

``episode_return`` is the mean return of the last 100 completed episodes (see
``purerl.envs.episode_stats``); "final" is its value after the last update.
"""

import jax
import numpy as np


def final_returns(module, config, seeds: int = 4, name: str = "") -> np.ndarray:
    keys = jax.random.split(jax.random.key(0), seeds)
    _, metrics = jax.jit(jax.vmap(module.train, in_axes=(None, 0)))(config, keys)
    returns = np.asarray(metrics["episode_return"][:, -1])
    label = name or f"{module.__name__.rsplit('.', 1)[-1]} {config.env_id}"
    print(f"{label}: final returns per seed {np.round(returns, 1)}, mean {returns.mean():.1f}")
    return returns
