"""GRPO (purerl.algos.grpo) improves its SFT policy with verifiable rewards alone."""

import jax
import numpy as np
import pytest

from purerl.algos import grpo
from tests.xla import optimized_jit


@pytest.mark.slow
def test_grpo_raises_held_out_exact_match_over_its_sft_start():
    """Reverse-4 from a weak SFT policy (all 40 updates: no target): outcome-supervised GRPO
    (16 prompts × 8 completions per update) raises held-out greedy exact match (256 prompts)
    by ≥ 0.1 over its first evaluation, mean of 2 seeds, in 100 updates. Measured (-O3):
    0.36 → 0.50 and 0.47 → 0.61 (with 32 prompts: 0.38 → 0.55 and 0.46 → 0.65; 0.74 and
    0.75 at 400 updates — short of the 0.9 that SFT alone reaches with 100 updates of
    demonstrations)."""
    config = grpo.Config(env_id="purerl/Reverse-4", sft_updates=40, sft_target=float("inf"),
                         sft_batch_size=64, num_prompts=16, num_updates=100,
                         eval_every=99)  # fmt: skip
    keys = jax.random.split(jax.random.key(0), 2)
    _, metrics = optimized_jit(jax.vmap(grpo.train, in_axes=(None, 0)))(config, keys)
    evaluated = np.asarray(metrics["eval_return"])
    start, end = evaluated[:, 0], evaluated[:, -1]
    print(f"GRPO Reverse-4: held-out exact match {np.round(start, 3)} -> {np.round(end, 3)}")
    assert np.all(np.isfinite(evaluated)) and (end - start).mean() >= 0.1
