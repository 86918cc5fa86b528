"""PPO learning tests with the thresholds of issue #2 (final = mean of the last 100 episodes)."""

import dataclasses

import pytest

from purerl.algos import ppo
from tests.algos.learning import final_metrics, final_returns


@pytest.mark.slow
def test_ppo_solves_cartpole_in_500k_steps():
    """Training return (last 100 episodes) and the greedy policy's return (16 episodes,
    evaluated inside the program after the last update), each ≥ 475 over 4 seeds."""
    config = ppo.Config(env_id="CartPole-v1", total_timesteps=500_000, eval_episodes=16)
    config = dataclasses.replace(config, eval_every=config.num_updates)
    final = final_metrics(ppo, config, seeds=4)
    assert final["episode_return"].mean() >= 475.0
    assert final["eval_return"].mean() >= 475.0


@pytest.mark.slow
def test_ppo_balances_brax_inverted_pendulum_within_1m_steps():
    """A 1M-step run has both seeds at 996-1000 from 500k steps on (925/984 at 300k); the
    test trains 600k steps to spare time (lr annealed over them: 986.8 and 994.3)."""
    config = ppo.Config(
        env_id="brax/inverted_pendulum",
        num_envs=32,
        num_steps=32,
        total_timesteps=600_000,
        lr=3e-4,
        ent_coef=0.0,
        normalize_obs=True,
    )
    assert final_returns(ppo, config, seeds=2).mean() >= 900.0
