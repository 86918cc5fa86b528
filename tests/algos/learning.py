"""Shared by the learning tests: train several seeds in one program (XLA's optimised build,
as users run it), report final returns.

``episode_return`` is the mean return of the last 100 completed episodes (see
``purerl.envs.episode_stats``); "final" is its value after the last update.
"""

import jax
import numpy as np

from tests.xla import optimized_jit


def final_metrics(module, config, seeds: int = 4, name: str = "") -> dict[str, np.ndarray]:
    """Every metric after the last update, ``[seeds]``; prints the returns."""
    keys = jax.random.split(jax.random.key(0), seeds)
    _, metrics = optimized_jit(jax.vmap(module.train, in_axes=(None, 0)))(config, keys)
    final = {k: np.asarray(v[:, -1]) for k, v in metrics.items()}
    label = name or f"{module.__name__.rsplit('.', 1)[-1]} {config.env_id}"
    for metric in ("episode_return", "eval_return"):
        if metric in final:
            values = final[metric]
            print(
                f"{label}: final {metric} per seed {np.round(values, 1)}, mean {values.mean():.1f}"
            )
    return final


def final_returns(module, config, seeds: int = 4, name: str = "") -> np.ndarray:
    return final_metrics(module, config, seeds, name)["episode_return"]
