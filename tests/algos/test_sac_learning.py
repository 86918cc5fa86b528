"""SAC learning tests (issue #14): 4 seeds vmapped, mean of the final deterministic
``eval_return`` (the squashed mean action, evaluated inside the program after the last
update). Networks of 64 × 64 and minibatches of 64, as in ``test_td3_ddpg_learning``."""

import pytest

from purerl.algos import sac
from tests.algos.learning import final_metrics
from tests.algos.test_td3_ddpg_learning import PENDULUM


@pytest.mark.slow
def test_sac_swings_up_pendulum_within_20k_steps():
    """Within 30k steps (issue #14): SAC needs fewer, so the test stops at 20k. Measured:
    final eval −104, −140, −175, −206 (mean −156; earlier, before ``purerl.xla_flags``
    changed the rounding of some sums, −104, −139, −169, −196, and the seeds' mean was −174
    at 10k, −151 at 15k, −131 at 30k). TD3 stays at 30k: at 20k its mean was −223."""
    config = sac.Config(**{**PENDULUM, "total_timesteps": 20_000, "eval_every": 20_000})
    final = final_metrics(sac, config, seeds=4)
    assert final["eval_return"].mean() >= -250.0


@pytest.mark.slow
def test_sac_balances_brax_inverted_pendulum_within_75k_steps():
    """4 environments, one gradient step per 4 environment steps, actor lr 1e-3. Measured:
    1000 on every seed at 75k (and at 60k and 100k; at 55k one seed was still at 120)."""
    config = sac.Config(
        env_id="brax/inverted_pendulum", num_envs=4, total_timesteps=75_000,
        learning_starts=1_000, hidden_sizes=(64, 64), batch_size=64, actor_lr=1e-3,
        eval_every=25_000, eval_episodes=4,
    )  # fmt: skip
    assert final_metrics(sac, config, seeds=4)["eval_return"].mean() >= 900.0
