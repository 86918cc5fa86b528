"""TD3 and DDPG learning tests (issue #14): 4 seeds vmapped, mean of the final deterministic
``eval_return`` (10 episodes of μ(s) after the last update).

Networks of 64 × 64 and minibatches of 64 (the paper's 256 × 256 and 256 cost 5× the time
on this CPU and are not needed on Pendulum); one gradient step per environment step; the
first 1,000 steps take uniform random actions."""

import pytest

from purerl.algos import ddpg, td3
from tests.algos.learning import final_metrics

PENDULUM = dict(
    env_id="Pendulum-v1", total_timesteps=30_000, learning_starts=1_000, hidden_sizes=(64, 64),
    batch_size=64, eval_every=30_000, eval_episodes=10,
)  # fmt: skip


@pytest.mark.slow
def test_td3_swings_up_pendulum_within_30k_steps():
    """Measured: final eval −137, −144, −110, −135 (mean −132; earlier, before
    ``purerl.xla_flags`` changed the rounding of some sums: −141, −147, −111, −136)."""
    final = final_metrics(td3, td3.Config(**PENDULUM), seeds=4)
    assert final["eval_return"].mean() >= -250.0


@pytest.mark.slow
def test_ddpg_swings_up_pendulum_within_20k_steps():
    """Within 30k steps (issue #14); the test stops at 20k. Measured: final eval −293, −142,
    −165, −244 (mean −211; earlier, before ``purerl.xla_flags`` changed the rounding of some
    sums, −110, −143, −166, −244, and the seeds' mean was −264 at 15k and −131 at 30k)."""
    config = ddpg.Config(**{**PENDULUM, "total_timesteps": 20_000, "eval_every": 20_000})
    final = final_metrics(ddpg, config, seeds=4)
    assert final["eval_return"].mean() >= -300.0
