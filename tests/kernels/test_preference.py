"""Property tests for purerl.kernels.preference: Bradley–Terry, group and process advantages,
token aggregation, GRPO's token objective and RLHF's shaped rewards."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import policy, preference

seeds = st.integers(0, 2**31 - 1)
TOL = dict(rtol=1e-5, atol=1e-5)


def spread_rewards(seed, g, binary=False):
    """G rewards with a spread (std > 0): normal, or 0/1 outcomes with both values present."""
    rng = np.random.default_rng(seed)
    if binary:
        r = (rng.random(g) < 0.5).astype(np.float32)
        r[0], r[1] = 0.0, 1.0
        return r
    return rng.normal(size=g).astype(np.float32) + np.arange(g, dtype=np.float32) * 0.1


# --- Bradley–Terry ---------------------------------------------------------------------------


@given(st.floats(-20, 20))
def test_bradley_terry_is_log_two_at_equal_rewards_and_antisymmetric_by_the_margin(r):
    np.testing.assert_allclose(preference.bradley_terry_loss(r, r), np.log(2.0), **TOL)
    for d in (-7.5, -0.3, 0.0, 1.0, 12.0):
        lhs = preference.bradley_terry_loss(r + d, r) - preference.bradley_terry_loss(r, r + d)
        np.testing.assert_allclose(lhs, -d, rtol=1e-5, atol=1e-4)  # L(d) − L(−d) = −d


def test_bradley_terry_is_exact_far_in_the_tails():
    assert float(preference.bradley_terry_loss(0.0, 200.0)) == pytest.approx(200.0)
    assert np.isfinite(float(preference.bradley_terry_loss(200.0, 0.0)))
    g = jax.grad(preference.bradley_terry_loss)(0.0, 0.0)
    np.testing.assert_allclose(g, -0.5, **TOL)  # −σ(−d) at d = 0


@given(seeds, st.integers(2, 7))
def test_ranking_loss_is_the_mean_over_all_pairs(seed, k):
    r = np.random.default_rng(seed).normal(scale=2.0, size=k).astype(np.float32)
    pairs = [np.log1p(np.exp(-(r[i] - r[j]))) for i, j in itertools.combinations(range(k), 2)]
    np.testing.assert_allclose(preference.ranking_loss(jnp.asarray(r)), np.mean(pairs), **TOL)
    if k == 2:
        np.testing.assert_allclose(
            preference.ranking_loss(jnp.asarray(r)), preference.bradley_terry_loss(r[0], r[1])
        )


def test_ranking_loss_needs_two_items():
    with pytest.raises(ValueError, match="at least 2"):
        preference.ranking_loss(jnp.zeros(1))


# --- group advantages --------------------------------------------------------------------


@given(seeds, st.integers(2, 16), st.booleans(), st.sampled_from(preference.BASELINES))
def test_group_advantages_have_zero_mean_and_unit_std(seed, g, binary, baseline):
    r = spread_rewards(seed, g, binary)
    adv = np.asarray(preference.group_advantages(jnp.asarray(r), baseline, "group", eps=0.0))
    np.testing.assert_allclose(adv.mean(), 0.0, atol=1e-5)
    expected_std = 1.0 if baseline == "mean" else g / (g - 1)  # RLOO: G/(G−1) (r − mean)
    np.testing.assert_allclose(adv.std(), expected_std, rtol=1e-4)


@given(
    seeds, st.integers(2, 16), st.sampled_from(preference.BASELINES),
    st.floats(0.1, 50.0), st.floats(-100.0, 100.0),
)  # fmt: skip
def test_group_advantages_are_invariant_to_positive_affine_maps_of_the_rewards(
    seed, g, baseline, a, b
):
    r = spread_rewards(seed, g)
    base = preference.group_advantages(jnp.asarray(r), baseline, "group", eps=0.0)
    moved = preference.group_advantages(jnp.asarray(a * r + b), baseline, "group", eps=0.0)
    np.testing.assert_allclose(moved, base, rtol=1e-3, atol=1e-3)


@given(
    st.floats(-1e6, 1e6, width=32), st.integers(1, 16),
    st.sampled_from(preference.BASELINES), st.sampled_from(preference.SCALES),
)  # fmt: skip
def test_group_advantages_are_exactly_zero_for_constant_groups(value, g, baseline, scale):
    if baseline == "leave_one_out" and g == 1:
        return
    adv = preference.group_advantages(
        jnp.full(g, value, jnp.float32), baseline, scale, eps=0.0, batch_std=jnp.float32(0.0)
    )
    np.testing.assert_array_equal(np.asarray(adv), 0.0)


@given(seeds, st.integers(2, 12), st.sampled_from(["group", "none"]))
def test_leave_one_out_baseline_matches_a_numpy_loop(seed, g, scale):
    r = spread_rewards(seed, g)
    expected = np.array([r[i] - np.mean(np.delete(r, i)) for i in range(g)])
    if scale == "group":
        expected = expected / (r.std() + 1e-6)
    got = preference.group_advantages(jnp.asarray(r), "leave_one_out", scale, eps=1e-6)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_batch_scale_divides_by_the_given_std_and_bad_options_are_named():
    r = jnp.array([0.0, 1.0, 3.0])
    got = preference.group_advantages(r, "mean", "batch", eps=0.0, batch_std=jnp.float32(2.0))
    np.testing.assert_allclose(got, (np.array([0.0, 1.0, 3.0]) - 4 / 3) / 2, **TOL)
    with pytest.raises(ValueError, match="batch_std"):
        preference.group_advantages(r, "mean", "batch")
    with pytest.raises(ValueError, match="baseline"):
        preference.group_advantages(r, "median")
    with pytest.raises(ValueError, match="scale"):
        preference.group_advantages(r, "mean", "max")


# --- process supervision -----------------------------------------------------------------


def process_numpy(step_rewards, step_end, step_mask, num_tokens, eps):
    valid = step_rewards[step_mask.astype(bool)]
    if valid.max() == valid.min():
        return np.zeros((step_rewards.shape[0], num_tokens))
    norm = (step_rewards - valid.mean()) / (valid.std() + eps)
    adv = np.zeros((step_rewards.shape[0], num_tokens))
    for i in range(step_rewards.shape[0]):
        for t in range(num_tokens):
            for j in range(step_rewards.shape[1]):
                if step_mask[i, j] and step_end[i, j] >= t:
                    adv[i, t] += norm[i, j]
    return adv


@st.composite
def step_groups(draw):
    g, s, t = draw(st.integers(2, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(seeds))
    num_steps = rng.integers(1, s + 1, size=g)
    step_mask = (np.arange(s) < num_steps[:, None]).astype(np.float32)
    step_end = np.sort(rng.integers(0, t, size=(g, s)), axis=1).astype(np.int32)
    rewards = rng.choice(np.array([0.0, 0.5, 1.0], np.float32), size=(g, s))
    rewards[0, 0], rewards[1, 0] = 0.0, 1.0  # a spread
    return rewards, step_end, step_mask, t


@given(step_groups())
def test_process_advantages_match_a_numpy_loop(group):
    rewards, step_end, step_mask, t = group
    got = preference.process_advantages(
        jnp.asarray(rewards), jnp.asarray(step_end), jnp.asarray(step_mask), t
    )
    np.testing.assert_allclose(got, process_numpy(rewards, step_end, step_mask, t, 1e-6),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


@given(seeds, st.integers(2, 8), st.integers(1, 8), st.booleans())
def test_one_step_per_completion_gives_the_outcome_advantages_on_every_token(seed, g, t, binary):
    rng = np.random.default_rng(seed)
    r = spread_rewards(seed, g, binary)
    last = rng.integers(0, t, size=g)  # each completion's last token
    got = preference.process_advantages(
        jnp.asarray(r[:, None]), jnp.asarray(last[:, None]), jnp.ones((g, 1)), t
    )
    outcome = np.asarray(preference.group_advantages(jnp.asarray(r)))
    expected = np.where(np.arange(t) <= last[:, None], outcome[:, None], 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_constant_step_rewards_give_zero_process_advantages():
    got = preference.process_advantages(
        jnp.ones((3, 2)), jnp.array([[0, 2]] * 3), jnp.array([[1, 1], [1, 0], [1, 1]]), 4
    )
    np.testing.assert_array_equal(np.asarray(got), 0.0)


# --- aggregation and GRPO's objective ------------------------------------------------------


@given(seeds, st.integers(1, 6), st.integers(1, 8), st.floats(1.0, 64.0))
def test_aggregations_agree_at_equal_lengths_and_the_constant_form_differs_by_its_normalizer(
    seed, n, length, normalizer
):
    rng = np.random.default_rng(seed)
    t = length + int(rng.integers(0, 4))
    terms = jnp.asarray(rng.normal(size=(n, t)), jnp.float32)
    mask = jnp.asarray(np.arange(t) < length, jnp.float32)[None].repeat(n, 0)
    seq = preference.aggregate_token_terms(terms, mask, "sequence_mean")
    tok = preference.aggregate_token_terms(terms, mask, "token_mean")
    const = preference.aggregate_token_terms(terms, mask, "constant", normalizer)
    np.testing.assert_allclose(seq, tok, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(const, tok * length / normalizer, rtol=1e-5, atol=1e-6)


def test_aggregations_weigh_tokens_as_documented_at_unequal_lengths():
    terms = jnp.array([[1.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0]])
    mask = jnp.array([[1, 1, 1, 1], [1, 0, 0, 0]])
    np.testing.assert_allclose(preference.aggregate_token_terms(terms, mask), (1 + 4) / 2)
    np.testing.assert_allclose(preference.aggregate_token_terms(terms, mask, "token_mean"), 8 / 5)
    np.testing.assert_allclose(preference.aggregate_token_terms(terms, mask, "constant", 4), 1.0)
    with pytest.raises(ValueError, match="aggregation"):
        preference.aggregate_token_terms(terms, mask, "sum")


def _logp_of(theta, tokens):
    logits = jax.nn.log_softmax(theta)
    return jnp.take_along_axis(logits, tokens[..., None], axis=-1)[..., 0]


@functools.partial(jax.jit, static_argnames="aggregation")
def _grpo_and_reinforce_grads(theta, tokens, mask, adv, aggregation):
    g, t = tokens.shape
    adv_tokens = jnp.broadcast_to(adv[:, None], (g, t))
    old = jax.lax.stop_gradient(_logp_of(theta, tokens))

    def grpo(th):
        per_token = jax.vmap(
            lambda lp, lo, a: preference.grpo_token_objective(lp, lo, lo, a, jnp.inf, beta=0.0)
        )(_logp_of(th, tokens), old, adv_tokens)
        return preference.aggregate_token_terms(per_token, mask, aggregation, float(t))

    def reinforce(th):
        terms = adv_tokens * _logp_of(th, tokens)
        return preference.aggregate_token_terms(terms, mask, aggregation, float(t))

    return jax.grad(grpo)(theta), jax.grad(reinforce)(theta)


@given(seeds, st.sampled_from([2, 5]), st.sampled_from([1, 4]),
       st.sampled_from(preference.AGGREGATIONS))  # fmt: skip
def test_grpo_without_clip_or_kl_has_the_gradient_of_reinforce_with_a_group_mean_baseline(
    seed, g, t, aggregation
):
    """β = 0, ε = ∞: ∇ of the aggregated objective at θ = θ_old equals ∇ of the aggregated
    Â log π — REINFORCE with the group mean as baseline (scaled by the group std)."""
    rng = np.random.default_rng(seed)
    vocab = 5
    theta = jnp.asarray(rng.normal(size=(g, t, vocab)), jnp.float32)  # per-position logits
    tokens = jnp.asarray(rng.integers(0, vocab, size=(g, t)))
    mask = jnp.asarray(np.arange(t) < rng.integers(1, t + 1, size=g)[:, None], jnp.float32)
    adv = preference.group_advantages(jnp.asarray(spread_rewards(seed, g)))
    grpo, reinforce = _grpo_and_reinforce_grads(theta, tokens, mask, adv, aggregation)
    np.testing.assert_allclose(grpo, reinforce, **TOL)
    assert np.any(np.asarray(grpo) != 0.0)


@given(seeds, st.floats(0.05, 0.3), st.floats(0.05, 0.5))
def test_asymmetric_clip_matches_its_formula_and_is_symmetric_ppo_at_equal_ranges(
    seed, eps, eps_high
):
    rng = np.random.default_rng(seed)
    ratio = jnp.asarray(np.exp(rng.normal(scale=0.5, size=32)), jnp.float32)
    adv = jnp.asarray(rng.normal(size=32), jnp.float32)
    r, a = np.asarray(ratio), np.asarray(adv)
    expected = np.minimum(r * a, np.clip(r, 1 - eps, 1 + eps_high) * a)
    got = policy.clipped_surrogate_objective(ratio, adv, eps, eps_high)
    np.testing.assert_allclose(got, expected, **TOL)
    np.testing.assert_array_equal(
        policy.clipped_surrogate_objective(ratio, adv, eps, eps),
        policy.clipped_surrogate_objective(ratio, adv, eps),
    )


def test_grpo_kl_term_is_k3_of_the_reference_ratio():
    logp = jnp.log(jnp.array([0.5, 0.2, 0.9]))
    logp_ref = jnp.log(jnp.array([0.25, 0.4, 0.9]))
    got = preference.grpo_token_objective(logp, logp, logp_ref, jnp.zeros(3), 0.2, beta=2.0)
    rho = np.array([0.5, 2.0, 1.0])  # π_ref / π_θ
    np.testing.assert_allclose(got, -2.0 * (rho - np.log(rho) - 1.0), **TOL)
    with pytest.raises(ValueError, match="kl_estimator"):
        preference.grpo_token_objective(logp, logp, logp_ref, jnp.zeros(3), 0.2, kl_estimator="k4")


# --- RLHF ----------------------------------------------------------------------------------


@given(seeds, st.integers(1, 8), st.floats(0.0, 1.0), st.floats(-3.0, 3.0))
def test_kl_shaped_rewards_sum_to_the_score_minus_beta_times_the_log_ratio(seed, t, beta, score):
    rng = np.random.default_rng(seed)
    logp = rng.normal(size=t).astype(np.float32) - 2
    logp_ref = rng.normal(size=t).astype(np.float32) - 2
    length = int(rng.integers(1, t + 1))
    mask = (np.arange(t) < length).astype(np.float32)
    got = np.asarray(
        preference.kl_shaped_rewards(
            jnp.float32(score), jnp.asarray(logp), jnp.asarray(logp_ref), jnp.asarray(mask),
            jnp.float32(beta),
        )
    )  # fmt: skip
    expected_total = score - beta * np.sum((logp - logp_ref)[:length])
    np.testing.assert_allclose(got.sum(), expected_total, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(got[length:], 0.0)
    np.testing.assert_allclose(got[length - 1] + beta * (logp - logp_ref)[length - 1], score,
                               rtol=1e-4, atol=1e-4)  # fmt: skip


def test_pretraining_objective_is_the_mean_token_log_likelihood():
    logp = jnp.array([[-1.0, -2.0, -9.0], [-3.0, -9.0, -9.0]])
    mask = jnp.array([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(preference.pretraining_objective(logp, mask), -2.0, **TOL)
