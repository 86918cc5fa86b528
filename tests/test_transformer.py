"""The causal transformer policy (purerl.transformer): causality, sampling, log-probs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import transformer as T
from purerl.envs import sequence as S

PROMPT_LEN, LENGTH = 6, 5


@pytest.fixture(scope="module")
def model():
    return T.Transformer(S.VOCAB_SIZE, PROMPT_LEN + LENGTH, width=32, depth=2, heads=4,
                         key=jax.random.key(0))  # fmt: skip


@pytest.fixture(scope="module")
def prompts():
    return jax.random.randint(jax.random.key(1), (16, PROMPT_LEN), 2, S.VOCAB_SIZE)


def test_outputs_at_a_position_do_not_depend_on_later_tokens(model):
    tokens = jnp.array([3, 4, 5, 6, 7, 8, 9, 10])
    logits, values = model(tokens)
    assert logits.shape == (8, S.VOCAB_SIZE) and values.shape == (8,)
    changed_logits, changed_values = model(tokens.at[5:].set(S.PAD))
    np.testing.assert_allclose(logits[:5], changed_logits[:5], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values[:5], changed_values[:5], rtol=1e-5, atol=1e-5)
    assert not np.allclose(logits[5:], changed_logits[5:])


def test_decoding_with_the_kv_cache_gives_the_logits_of_the_whole_sequence(model):
    tokens = jnp.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 2, 1])
    logits, _ = model(tokens)
    prefix = 4
    first, cache = model.prefill(tokens[:prefix], tokens.shape[0])
    np.testing.assert_allclose(first, logits[:prefix], rtol=1e-5, atol=1e-5)
    for i in range(prefix, tokens.shape[0]):
        step, cache = model.decode(tokens[i], i, cache)
        np.testing.assert_allclose(step, logits[i], rtol=1e-4, atol=1e-5)


def test_sampled_log_probs_equal_the_teacher_forced_ones_and_padding_follows_eos(model, prompts):
    @jax.jit
    def run(prompts, key):
        keys = jax.random.split(key, prompts.shape[0])
        c = jax.vmap(lambda p, k: T.sample(model, p, LENGTH, k, 1.3))(prompts, keys)
        logp, _ = jax.vmap(lambda p, t: T.completion_log_probs(model, p, t, 1.3))(prompts, c.tokens)
        return c, logp

    c, logp = run(prompts, jax.random.key(2))
    mask = np.asarray(c.mask)
    np.testing.assert_allclose(np.asarray(logp) * mask, np.asarray(c.logp), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mask, jax.vmap(S.completion_mask)(c.tokens))
    tokens = np.asarray(c.tokens)
    for row, m in zip(tokens, mask):
        np.testing.assert_array_equal(row[m == 0], S.PAD)
    again, _ = run(prompts, jax.random.key(2))
    np.testing.assert_array_equal(np.asarray(again.tokens), tokens)  # a key fixes the sample


def test_sampling_at_temperature_near_zero_is_greedy_decoding(model, prompts):
    @jax.jit
    def decode(prompts, temperature, key):
        keys = jax.random.split(key, prompts.shape[0])
        return jax.vmap(lambda p, k: T.sample(model, p, LENGTH, k, temperature))(prompts, keys)

    greedy = decode(prompts, 0.0, jax.random.key(3))
    for seed in range(3):
        cold = decode(prompts, 1e-4, jax.random.key(seed))
        np.testing.assert_array_equal(np.asarray(cold.tokens), np.asarray(greedy.tokens))
    warm = decode(prompts, 5.0, jax.random.key(4))
    assert not np.array_equal(np.asarray(warm.tokens), np.asarray(greedy.tokens))


def test_width_must_split_into_heads():
    with pytest.raises(ValueError, match="width"):
        T.Transformer(S.VOCAB_SIZE, 8, width=30, heads=4, key=jax.random.key(0))


def test_a_reward_models_score_reads_up_to_the_eos_and_ignores_what_follows(model, prompts):
    """lm.sequence_reward is the value head at the completion's EOS: the same whatever
    follows it, and that position's value of the whole sequence."""
    from purerl import lm

    completion = jnp.array([S.DIGIT0 + 3, S.DIGIT0 + 1, S.EOS, S.PAD, S.PAD])
    noisy = completion.at[3:].set(jnp.array([S.DIGIT0 + 7, S.EOS]))
    prompt = prompts[0]
    score = lm.sequence_reward(model, prompt, completion)
    np.testing.assert_allclose(score, lm.sequence_reward(model, prompt, noisy), rtol=1e-5)
    _, values = model(jnp.concatenate([prompt, completion]))
    np.testing.assert_allclose(score, values[PROMPT_LEN + 2], rtol=1e-6)
    assert not np.isclose(score, values[PROMPT_LEN + 1])
