"""Property tests for purerl.kernels.policy."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import policy

TOL = dict(rtol=1e-5, atol=1e-6)


@st.composite
def samples(draw, max_len: int = 12):
    B = draw(st.integers(1, max_len))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    ratio = np.exp(rng.normal(scale=0.5, size=B)).astype(np.float32)
    adv = rng.normal(size=B).astype(np.float32)
    return ratio, adv


epsilons = st.sampled_from([0.05, 0.1, 0.2, 0.3, 0.5])


def clipped_ref(ratio, adv, eps):
    out = np.empty_like(ratio)
    for i, (r, a) in enumerate(zip(ratio, adv)):
        out[i] = min(r * a, min(max(r, 1 - eps), 1 + eps) * a)
    return out


@given(samples(), epsilons)
def test_clipped_surrogate_matches_numpy_reference(s, eps):
    ratio, adv = s
    got = policy.clipped_surrogate_objective(ratio, adv, eps)
    np.testing.assert_allclose(got, clipped_ref(ratio, adv, eps), **TOL)


@given(samples(), epsilons)
def test_clipped_surrogate_is_at_most_unclipped_and_equal_at_ratio_one(s, eps):
    ratio, adv = s
    clipped = policy.clipped_surrogate_objective(ratio, adv, eps)
    unclipped = policy.surrogate_objective(ratio, adv)
    assert np.all(np.asarray(clipped) <= np.asarray(unclipped) + 1e-6)
    ones = np.ones_like(ratio)
    np.testing.assert_allclose(
        policy.clipped_surrogate_objective(ones, adv, eps), policy.surrogate_objective(ones, adv)
    )


@given(samples(), epsilons)
def test_clipped_gradient_vanishes_outside_the_trust_region_on_the_pushed_side(s, eps):
    ratio, adv = s
    grad = np.asarray(
        jax.grad(lambda r: policy.clipped_surrogate_objective(r, adv, eps).sum())(ratio)
    )
    pushed_out = ((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps))
    np.testing.assert_array_equal(grad[pushed_out], 0.0)
    # Elsewhere the gradient is the unclipped one, d(rA)/dr = A.
    np.testing.assert_allclose(grad[~pushed_out], adv[~pushed_out], **TOL)


@given(samples())
def test_huge_epsilon_and_zero_beta_reduce_to_the_unclipped_surrogate(s):
    ratio, adv = s
    unclipped = policy.surrogate_objective(ratio, adv)
    np.testing.assert_allclose(
        policy.clipped_surrogate_objective(ratio, adv, 1e9), unclipped, **TOL
    )
    kl = np.abs(np.log(ratio))
    np.testing.assert_allclose(policy.kl_penalized_objective(ratio, adv, kl, 0.0), unclipped, **TOL)


@given(samples(), st.floats(0.0, 10.0))
def test_kl_penalty_subtracts_beta_times_kl(s, beta):
    ratio, adv = s
    kl = np.abs(np.log(ratio))
    got = policy.kl_penalized_objective(ratio, adv, kl, beta)
    np.testing.assert_allclose(got, ratio * adv - np.float32(beta) * kl, rtol=1e-5, atol=1e-5)


@given(
    st.floats(1e-3, 10.0),
    st.floats(0.0, 0.2),
    st.floats(1e-4, 0.1),
    st.sampled_from([1.0, 1.5, 2.0]),
)
def test_adaptive_kl_coefficient_follows_the_stated_thresholds(beta, kl, target, factor):
    got = float(policy.adaptive_kl_coefficient(beta, kl, target, factor))
    kl32, target32 = np.float32(kl), np.float32(target)
    if kl32 < target32 / np.float32(1.5):
        want = beta / factor
    elif kl32 > target32 * np.float32(1.5):
        want = beta * factor
    else:
        want = beta
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if factor == 1.0:  # a fixed coefficient
        np.testing.assert_allclose(got, beta, rtol=1e-6)


def test_adaptive_kl_coefficient_at_hand_worked_points():
    # d_targ = 0.01: thresholds at 0.00667 and 0.015.
    assert float(policy.adaptive_kl_coefficient(1.0, 0.005, 0.01)) == 0.5
    assert float(policy.adaptive_kl_coefficient(1.0, 0.01, 0.01)) == 1.0
    assert float(policy.adaptive_kl_coefficient(1.0, 0.02, 0.01)) == 2.0


@given(samples())
def test_policy_gradient_loss_gradient_is_minus_advantage(s):
    _, adv = s
    logp = -np.abs(adv)
    grad = jax.grad(lambda lp: policy.policy_gradient_loss(lp, adv).sum())(logp)
    np.testing.assert_allclose(grad, -adv, **TOL)
    grad_adv = jax.grad(lambda a: policy.policy_gradient_loss(logp, a).sum())(adv)
    np.testing.assert_array_equal(grad_adv, 0.0)


@given(samples())
def test_importance_ratio_is_exp_of_log_difference(s):
    ratio, adv = s
    logp_old = adv
    logp = adv + np.log(ratio)
    np.testing.assert_allclose(policy.importance_ratio(logp, logp_old), ratio, rtol=1e-4)


@given(samples(), st.floats(0.01, 1.0))
def test_value_loss_is_half_squared_error_and_clipping_only_raises_it(s, eps):
    v, target = s
    v_old = v + np.float32(0.5) * target
    plain = policy.value_loss(v, target)
    np.testing.assert_allclose(plain, 0.5 * (v - target) ** 2, **TOL)
    clipped = policy.value_loss(v, target, v_old, eps)
    assert np.all(np.asarray(clipped) >= np.asarray(plain) - 1e-6)
    near = np.abs(v - v_old) <= eps
    np.testing.assert_allclose(np.asarray(clipped)[near], np.asarray(plain)[near], **TOL)


def test_entropy_loss_is_negative_entropy():
    np.testing.assert_array_equal(policy.entropy_loss(jnp.array([0.5, 1.0])), [-0.5, -1.0])


@given(st.integers(0, 2**31 - 1))
def test_vmap_equals_per_row(seed):
    rng = np.random.default_rng(seed)
    ratio = np.exp(rng.normal(size=(3, 5))).astype(np.float32)
    adv = rng.normal(size=(3, 5)).astype(np.float32)
    batched = jax.vmap(policy.clipped_surrogate_objective, in_axes=(0, 0, None))(ratio, adv, 0.2)
    for i in range(3):
        np.testing.assert_allclose(
            batched[i], policy.clipped_surrogate_objective(ratio[i], adv[i], 0.2), **TOL
        )


def bandit_gradient_estimates(key, logits, rewards, baseline, num_samples):
    """Per-sample REINFORCE gradients ∇_θ[−loss] = ∇log π(a) (r_a − b) on a K-armed bandit
    with softmax policy π = softmax(θ) and noisy rewards r_a + N(0, 1)."""
    k_a, k_r = jax.random.split(key)
    actions = jax.random.categorical(k_a, logits, shape=(num_samples,))
    r = rewards[actions] + jax.random.normal(k_r, (num_samples,))

    def per_sample(a, r):
        def objective(th):
            logp = jax.nn.log_softmax(th)[a][None]
            return -policy.policy_gradient_loss(logp, (r - baseline)[None])[0]

        return jax.grad(objective)(logits)

    return jax.vmap(per_sample)(actions, r)


@given(st.integers(0, 2**31 - 1), st.sampled_from([-5.0, 3.0, 20.0]))
def test_constant_baseline_leaves_the_reinforce_gradient_unchanged_in_expectation(seed, b):
    """Monte Carlo check, 100k samples: the mean estimate with baseline b lies within 5
    standard errors of the exact gradient ∇J = π ⊙ (r − πᵀr), as does the one without."""
    rng = np.random.default_rng(seed)
    logits = jnp.asarray(rng.normal(size=4), jnp.float32)
    rewards = jnp.asarray(rng.normal(size=4), jnp.float32)
    pi = jax.nn.softmax(logits)
    exact = np.asarray(pi * (rewards - pi @ rewards))
    for baseline in (0.0, b):
        g = np.asarray(
            bandit_gradient_estimates(jax.random.key(seed), logits, rewards, baseline, 100_000)
        )
        stderr = g.std(axis=0) / np.sqrt(len(g))
        assert np.all(np.abs(g.mean(axis=0) - exact) <= 5 * stderr + 1e-4), (baseline, stderr)
