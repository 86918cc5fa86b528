"""TRPO (purerl.algos.trpo): the trust region holds in training, and the learning tests of
issue #5 (final = mean return of the last 100 episodes)."""

import jax
import numpy as np
import pytest

from purerl.algos import trpo
from tests.algos.learning import final_returns


def test_every_natural_policy_step_stays_inside_the_kl_radius():
    config = trpo.Config(num_envs=4, num_steps=64, total_timesteps=4096, max_kl=0.005)
    _, metrics = jax.jit(trpo.train)(config, jax.random.key(0))
    kl, accepted = np.asarray(metrics["kl"]), np.asarray(metrics["step_accepted"])
    assert np.all(kl <= 0.005 * (1 + 1e-5)), kl
    assert accepted.mean() > 0.5, accepted  # and it does move
    assert np.all(kl[accepted == 1] > 0)


def test_penalized_trpo_raises_the_penalty_while_kl_exceeds_the_target():
    config = trpo.Config(
        method="penalized", num_envs=4, num_steps=64, total_timesteps=2048, max_kl=1e-4,
        policy_lr=1e-2, penalty_init=0.0, dual_lr=100.0,
    )  # fmt: skip
    _, metrics = jax.jit(trpo.train)(config, jax.random.key(0))
    kl, penalty = np.asarray(metrics["kl"]), np.asarray(metrics["penalty"])
    expected = np.maximum(0.0, np.concatenate([[0.0], penalty[:-1]]) + 100.0 * (kl - 1e-4))
    np.testing.assert_allclose(penalty, expected, rtol=1e-4, atol=1e-6)
    assert penalty[-1] > 0


@pytest.mark.slow
def test_trpo_balances_cartpole_in_500k_steps():
    """Mean final return of 4 seeds ≥ 450. With the value fit of ``trpo.Config``'s defaults
    (10 epochs), 32 other seeds (``split(key(1), 32)``) ended at a mean of 494.1, one seed
    at 360.8 and the rest at 456 or above; with 5 epochs, runs that reached 500 collapsed
    late (32 seeds: mean 449.1, three below 250; this test failed at 433.1)."""
    assert final_returns(trpo, trpo.Config(), name="TRPO").mean() >= 450.0


@pytest.mark.slow
def test_trpo_balances_brax_inverted_pendulum_within_1m_steps():
    """Measured over 1M steps: a mean of 986 at 250k and 980-990 after; the test stops at
    250k to spare the suite's time."""
    config = trpo.Config(
        env_id="brax/inverted_pendulum",
        num_envs=32,
        num_steps=64,
        total_timesteps=250_000,
        normalize_obs=True,
    )
    assert final_returns(trpo, config, seeds=2).mean() >= 900.0
