"""Supervised fine-tuning (purerl.algos.sft) learns what it is shown."""

import pytest

from purerl.algos import sft
from tests.algos.learning import final_metrics


@pytest.mark.slow
def test_sft_learns_to_reverse_digit_strings_it_has_not_seen():
    """Reverse-4 from 4096 demonstrations: held-out greedy exact match (256 prompts) ≥ 0.9
    over 2 seeds after 150 updates. Measured: 0.45/0.52 at 50 updates, 0.98/0.99 at 100."""
    config = sft.Config(env_id="purerl/Reverse-4", batch_size=64, num_updates=150,
                        eval_every=150)  # fmt: skip
    final = final_metrics(sft, config, seeds=2)
    assert final["eval_return"].mean() >= 0.9
