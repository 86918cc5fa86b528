"""PPO learning tests with the thresholds of issue #2.

``episode_return`` is the mean return of the last 100 completed episodes (see
``purerl.envs.episode_stats``); "final" is its value after the last update.
"""

import jax
import numpy as np
import pytest

from purerl.algos import ppo


def final_returns(config: ppo.Config, seeds: int) -> np.ndarray:
    keys = jax.random.split(jax.random.key(0), seeds)
    _, metrics = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))(config, keys)
    returns = np.asarray(metrics["episode_return"][:, -1])
    print(f"{config.env_id}: final returns per seed {returns}, mean {returns.mean():.1f}")
    return returns


@pytest.mark.slow
def test_ppo_solves_cartpole_in_500k_steps():
    config = ppo.Config(env_id="CartPole-v1", total_timesteps=500_000)
    assert final_returns(config, seeds=4).mean() >= 475.0


@pytest.mark.slow
def test_ppo_balances_brax_inverted_pendulum_within_1m_steps():
    config = ppo.Config(
        env_id="brax/inverted_pendulum",
        num_envs=32,
        num_steps=32,
        total_timesteps=1_000_000,
        lr=3e-4,
        ent_coef=0.0,
        normalize_obs=True,
    )
    assert final_returns(config, seeds=2).mean() >= 900.0
