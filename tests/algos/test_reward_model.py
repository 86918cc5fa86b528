"""Reward models (purerl.algos.reward_model) learn the labeler's preferences."""

import pytest

from purerl.algos import reward_model
from tests.algos.learning import final_metrics


@pytest.mark.slow
def test_a_bradley_terry_reward_model_ranks_held_out_completions_as_the_labeler_does():
    """Reverse-4, pairwise (the answer vs one mistake), from scratch: held-out pairwise
    accuracy (256 fresh rankings) ≥ 0.9 over 2 seeds after 100 updates. Measured: 0.93 and
    0.96 (1.00 and 1.00 at 200). (Addition-3 with the defaults, 1,000 updates, 2 seeds:
    0.92 and 0.93 from scratch, 0.93 and 0.92 from the SFT policy — above 0.9 with too
    little margin for a test of 1,000 updates; with answers in the sum's own digits and
    same-length mistakes only it was 0.6-0.7 and 0.82-0.86.)"""
    config = reward_model.Config(
        env_id="purerl/Reverse-4", sft_updates=0, num_prompts=16384, num_updates=100,
        eval_every=100,
    )  # fmt: skip
    final = final_metrics(reward_model, config, seeds=2)
    assert final["eval_return"].mean() >= 0.9
