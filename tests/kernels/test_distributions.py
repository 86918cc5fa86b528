"""Property tests for purerl.kernels.distributions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import distributions as D

seeds = st.integers(0, 2**31 - 1)


def logits_pair(seed, n):
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=2.0, size=(2, n))).astype(np.float32)


def gaussian_pair(seed, d):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(2, d)).astype(np.float32)
    log_std = rng.uniform(-1.0, 0.7, size=(2, d)).astype(np.float32)
    return (mean[0], log_std[0]), (mean[1], log_std[1])


@given(seeds, st.integers(1, 8))
def test_categorical_log_probs_normalize_and_match_numpy(seed, n):
    logits = logits_pair(seed, n)[0]
    logp = np.array([float(D.categorical_log_prob(logits, jnp.int32(a))) for a in range(n)])
    np.testing.assert_allclose(np.exp(logp).sum(), 1.0, rtol=1e-5)
    ref = logits - np.log(np.sum(np.exp(logits.astype(np.float64))))
    np.testing.assert_allclose(logp, ref, rtol=1e-5, atol=1e-5)


@given(seeds, st.integers(1, 8))
def test_categorical_entropy_and_kl_match_numpy(seed, n):
    p_logits, q_logits = logits_pair(seed, n)
    p = np.exp(p_logits - p_logits.max())
    p /= p.sum()
    q = np.exp(q_logits - q_logits.max())
    q /= q.sum()
    np.testing.assert_allclose(
        D.categorical_entropy(p_logits), -np.sum(p * np.log(p)), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        D.categorical_kl(p_logits, q_logits), np.sum(p * np.log(p / q)), rtol=1e-4, atol=1e-5
    )


@given(seeds, st.integers(1, 6))
def test_kl_is_nonnegative_and_zero_for_identical(seed, n):
    p_logits, q_logits = logits_pair(seed, n)
    assert float(D.categorical_kl(p_logits, q_logits)) >= -1e-6
    assert abs(float(D.categorical_kl(p_logits, p_logits))) < 1e-6
    gp, gq = gaussian_pair(seed, n)
    assert float(D.gaussian_kl(gp, gq)) >= -1e-6
    assert abs(float(D.gaussian_kl(gp, gp))) < 1e-6


@given(seeds, st.integers(1, 4))
def test_analytic_kl_matches_monte_carlo_estimate(seed, n):
    key = jax.random.key(seed)
    num = 20_000
    p_logits, q_logits = logits_pair(seed, n)
    actions = jax.vmap(D.categorical_sample, in_axes=(0, None))(
        jax.random.split(key, num), p_logits
    )
    log_ratio = jax.vmap(
        lambda a: D.categorical_log_prob(p_logits, a) - D.categorical_log_prob(q_logits, a)
    )(actions)
    se = float(jnp.std(log_ratio)) / math.sqrt(num)
    assert (
        abs(float(jnp.mean(log_ratio)) - float(D.categorical_kl(p_logits, q_logits)))
        < 5 * se + 1e-4
    )
    gp, gq = gaussian_pair(seed, n)
    xs = jax.vmap(D.gaussian_sample, in_axes=(0, None))(jax.random.split(key, num), gp)
    log_ratio = jax.vmap(lambda x: D.gaussian_log_prob(gp, x) - D.gaussian_log_prob(gq, x))(xs)
    se = float(jnp.std(log_ratio)) / math.sqrt(num)
    assert abs(float(jnp.mean(log_ratio)) - float(D.gaussian_kl(gp, gq))) < 5 * se + 1e-4


@given(seeds, st.integers(1, 3))
def test_gaussian_log_prob_matches_numpy_and_integrates_to_one(seed, d):
    (mean, log_std), _ = gaussian_pair(seed, d)
    x = np.random.default_rng(seed).normal(size=d).astype(np.float32)
    std = np.exp(log_std.astype(np.float64))
    ref = np.sum(-0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(D.gaussian_log_prob((mean, log_std), x), ref, rtol=1e-5, atol=1e-5)
    # One dimension on a fine grid: the density integrates to 1.
    grid = np.linspace(mean[0] - 12 * std[0], mean[0] + 12 * std[0], 4001).astype(np.float32)
    dens = np.exp(jax.vmap(lambda g: D.gaussian_log_prob((mean[:1], log_std[:1]), g[None]))(grid))
    np.testing.assert_allclose(np.trapezoid(dens, grid), 1.0, rtol=1e-3)


@given(seeds, st.integers(1, 4))
def test_gaussian_entropy_matches_closed_form(seed, d):
    (mean, log_std), _ = gaussian_pair(seed, d)
    want = np.sum(log_std + 0.5 * np.log(2 * np.pi * np.e))
    np.testing.assert_allclose(D.gaussian_entropy((mean, log_std)), want, rtol=1e-5, atol=1e-5)


def test_categorical_sampling_frequencies_match_probabilities():
    logits = jnp.array([0.0, 1.0, -1.0, 0.5])
    num = 40_000
    a = jax.vmap(D.categorical_sample, in_axes=(0, None))(
        jax.random.split(jax.random.key(0), num), logits
    )
    freq = np.bincount(np.asarray(a), minlength=4) / num
    p = np.asarray(jax.nn.softmax(logits))
    # 5 standard errors of a binomial proportion.
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / num))


def test_gaussian_samples_have_the_stated_moments():
    params = (jnp.array([1.0, -2.0]), jnp.log(jnp.array([0.5, 2.0])))
    xs = jax.vmap(D.gaussian_sample, in_axes=(0, None))(
        jax.random.split(jax.random.key(1), 40_000), params
    )
    np.testing.assert_allclose(xs.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(xs.std(0), [0.5, 2.0], rtol=0.03)


def test_modes_and_vmap_over_batches():
    logits = jnp.array([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(jax.vmap(D.categorical_mode)(logits), [1, 0])
    ent = jax.vmap(D.categorical_entropy)(logits)
    for i in range(2):
        np.testing.assert_allclose(ent[i], D.categorical_entropy(logits[i]), rtol=1e-6)
    assert float(D.gaussian_mode((jnp.ones(2), jnp.zeros(2)))[0]) == 1.0


def test_masked_logits_give_finite_entropy_and_kl_with_finite_gradients():
    """A logit of −inf masks an action out: 0 · log 0 counts as 0."""
    masked, uniform = jnp.array([0.0, -jnp.inf]), jnp.array([0.0, 0.0])
    assert float(D.categorical_entropy(masked)) == 0.0
    np.testing.assert_allclose(float(D.categorical_kl(masked, uniform)), math.log(2.0), rtol=1e-6)
    for grad in (
        jax.grad(D.categorical_entropy)(masked),
        *jax.grad(D.categorical_kl, argnums=(0, 1))(masked, uniform),
    ):
        assert np.all(np.isfinite(np.asarray(grad))), grad


@given(seeds, st.integers(2, 8))
def test_masking_actions_equals_dropping_them(seed, n):
    """Entropy and KL with some logits at −inf equal those of the live actions alone; their
    gradients are finite (and zero for the masked logits of the entropy)."""
    p_logits, q_logits = logits_pair(seed, n)
    live = np.random.default_rng(seed).random(n) < 0.6
    live[0] = True
    masked = np.where(live, p_logits, -np.inf).astype(np.float32)
    np.testing.assert_allclose(
        D.categorical_entropy(masked), D.categorical_entropy(p_logits[live]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        D.categorical_kl(masked, q_logits),
        D.categorical_kl(p_logits[live], q_logits[live])
        - np.log(np.sum(np.exp(q_logits[live])) / np.sum(np.exp(q_logits))),
        rtol=1e-4,
        atol=1e-5,
    )
    grad = np.asarray(jax.grad(D.categorical_entropy)(jnp.asarray(masked)))
    assert np.all(np.isfinite(grad)) and np.all(grad[~live] == 0.0)
    grads = jax.grad(D.categorical_kl, argnums=(0, 1))(jnp.asarray(masked), q_logits)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)
