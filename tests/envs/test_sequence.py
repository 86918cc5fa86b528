"""Sequence tasks (purerl.envs.sequence): problems are right, the splits are disjoint, and the
verifier's outcome and process rewards agree with a plain Python check."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.envs import sequence as S

N = 512


@pytest.fixture(scope="module", params=["purerl/Addition-3", "purerl/Reverse-5"])
def task_and_batches(request):
    task = S.make(request.param)
    fn = jax.jit(S.sample_batch, static_argnums=(0, 2, 3))
    return task, fn(task, jax.random.key(0), N, False), fn(task, jax.random.key(1), N, True)


def solve(task, prompt_text: str) -> str:
    body = prompt_text.rstrip("=")
    if task.kind == "Addition":
        a, b = body.split("+")
        return f"{int(a) + int(b):0{task.digits + 1}d}$"  # the sum in D + 1 places
    return body[::-1] + "$"


def test_every_problem_is_well_formed_and_its_answer_is_right(task_and_batches):
    task, train, held = task_and_batches
    for batch in (train, held):
        assert batch.prompt.shape == (N, task.prompt_len)
        assert batch.answer.shape == (N, task.answer_len)
        for prompt, answer, length in zip(
            np.asarray(batch.prompt), np.asarray(batch.answer), np.asarray(batch.answer_len)
        ):
            text = S.decode(prompt)
            assert text.endswith("=") and prompt[-1] == S.EQUALS, text
            assert S.decode(answer) == solve(task, text), text
            assert length == len(S.decode(answer))
            np.testing.assert_array_equal(prompt, S.encode_prompt(task, text))


def test_the_held_out_split_is_disjoint_from_training_and_about_a_tenth(task_and_batches):
    task, train, held = task_and_batches
    split = jax.vmap(lambda p: S.is_held_out(task, p))
    assert not np.any(split(train.prompt))
    assert np.all(split(held.prompt))
    if task.kind == "Addition":  # uniform operands: the rule marks 10% of all problems
        marks = [S.is_held_out(task, jnp.asarray(S.encode_prompt(task, f"{a}+{b}=")))
                 for a, b in np.random.default_rng(0).integers(0, 1000, (200, 2))]  # fmt: skip
        assert 0.04 < np.mean(marks) < 0.17
    train_texts = {S.decode(p) for p in np.asarray(train.prompt)}
    assert len(train_texts) > N // 4  # varied, not a handful of problems


def test_outcome_and_process_rewards_match_a_python_verifier(task_and_batches):
    task, train, _ = task_and_batches
    rng = np.random.default_rng(0)
    verify = jax.jit(jax.vmap(lambda c, p: (S.outcome_reward(c, p), *S.process_rewards(c, p))))
    # Corrupt a third of the answers at one place (possibly the EOS), keep the rest.
    completions = np.asarray(train.answer).copy()
    for i in range(N):
        if i % 3 == 0:
            j = rng.integers(0, task.answer_len)
            completions[i, j] = rng.integers(1, S.VOCAB_SIZE)
            after = np.flatnonzero(completions[i] == S.EOS)
            if after.size:
                completions[i, after[0] + 1 :] = S.PAD
    outcome, steps, ends, mask = (np.asarray(x) for x in verify(jnp.asarray(completions), train))
    for i in range(N):
        got, want = S.decode(completions[i]), S.decode(np.asarray(train.answer)[i])
        assert outcome[i] == float(got == want), (got, want)
        wrong = [k for k, (x, y) in enumerate(zip(got, want)) if x != y]
        prefix = wrong[0] if wrong else min(len(got), len(want))
        assert steps[i].sum() == prefix, (got, want, steps[i])
        assert mask[i].sum() == (len(got) if got.endswith("$") else task.answer_len)
        np.testing.assert_array_equal(ends[i], np.arange(task.answer_len))


def test_unknown_task_ids_are_refused_with_suggestions():
    with pytest.raises(ValueError, match="env_id: unknown sequence task.*Addition-3"):
        S.make("purerl/Adition-3")
    with pytest.raises(ValueError, match="env_id"):
        S.make("purerl/Addition-9")


def test_encode_and_decode_round_trip():
    tokens = S.encode("347+85=", 8, right=True)
    assert tokens[0] == S.PAD and S.decode(tokens) == "347+85="
    fields = S.encode_prompt(S.make("purerl/Addition-3"), "347+85=")  # operands in D places
    np.testing.assert_array_equal(fields, [S.TOKENS.index(c) for c in "347+_85="])  # _ is PAD
    assert S.decode(fields) == "347+85="
    assert S.decode(S.encode("432$", 5)) == "432$"
    with pytest.raises(ValueError, match="longer"):
        S.encode("12345", 3)


def _errors(got: str, want: str) -> int:
    """Mistakes as the labeler counts them: digits that differ in the same place, plus the
    difference in length."""
    got, want = got.rstrip("$"), want.rstrip("$")
    return sum(x != y for x, y in zip(got, want)) + abs(len(got) - len(want))


def test_rankings_have_exactly_0_to_k_minus_1_mistakes(task_and_batches):
    """The labeler's rankings: candidate j has j mistakes (changed digits and a changed
    length) and ends in its only EOS, or fills the whole budget without one (truncated);
    lengths vary."""
    task, train, _ = task_and_batches
    k = task.answer_len
    keys = jax.random.split(jax.random.key(2), N)
    ranked = np.asarray(jax.jit(jax.vmap(lambda p, kk: S.ranking(p, kk, k)))(train, keys))
    length_changed = truncated = 0
    for i in range(N):
        want = S.decode(np.asarray(train.answer)[i])
        for j in range(k):
            got = S.decode(ranked[i, j])
            ended = got.endswith("$") and got.count("$") == 1 and len(got) <= k
            assert ended or ("$" not in got and len(got) == k), got
            truncated += not ended
            assert _errors(got, want) == j, (got, want, j)
            length_changed += j == 1 and len(got) != len(want)
    assert 0.2 * N < length_changed < 0.8 * N  # one mistake is a length one about 2/3 of the time
    assert truncated > 0


def test_a_length_biased_labelers_worse_completions_are_never_longer(task_and_batches):
    """``lengthen=False`` (reward_model's ``labeler="length_biased"``): pairs (answer, one
    mistake) whose rejected completion is never the longer one, some of them shorter."""
    task, train, _ = task_and_batches
    keys = jax.random.split(jax.random.key(3), N)
    ranked = np.asarray(jax.jit(jax.vmap(lambda p, kk: S.ranking(p, kk, 2, False)))(train, keys))
    lengths = [(len(S.decode(r[0])), len(S.decode(r[1]))) for r in ranked]
    assert all(worse <= best for best, worse in lengths)
    assert sum(worse < best for best, worse in lengths) > N // 10
