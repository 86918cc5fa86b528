"""Property tests for purerl.kernels.divergence: the k1, k2, k3 estimators of KL[q‖p]."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import distributions as D
from purerl.kernels import divergence

seeds = st.integers(0, 2**31 - 1)
ESTIMATORS = {"k1": divergence.kl_k1, "k2": divergence.kl_k2, "k3": divergence.kl_k3}


def categorical_pair(seed, n, scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(2, n))
    logq, logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return logq, logp


@given(seeds, st.integers(2, 6), st.sampled_from([0.1, 1.0, 3.0]))
def test_k1_and_k3_expectations_under_q_are_exactly_kl(seed, n, scale):
    """Unbiased: Σ_a q(a) k(log p(a) − log q(a)) = KL[q‖p], computed exactly over actions."""
    logq, logp = categorical_pair(seed, n, scale)
    q = np.exp(logq)
    kl = float(np.sum(q * (logq - logp)))
    log_ratio = jnp.asarray(logp - logq, jnp.float32)
    for name in ("k1", "k3"):
        expectation = float(jnp.sum(q * ESTIMATORS[name](log_ratio)))
        np.testing.assert_allclose(expectation, kl, rtol=1e-4, atol=1e-5, err_msg=name)
    # k2 is biased, but never negative in expectation and second-order close for close p, q.
    k2 = float(jnp.sum(q * divergence.kl_k2(log_ratio)))
    assert k2 >= 0.0
    if scale == 0.1:
        np.testing.assert_allclose(k2, kl, rtol=0.15, atol=1e-4)


def test_k1_and_k3_are_unbiased_in_monte_carlo_and_k3_has_lower_variance():
    """Samples from π_old (a Gaussian policy): the sample means of k1 and k3 match the
    closed-form KL[π_old‖π] within 4 standard errors; k3's spread is the smaller."""
    old = (jnp.array([0.0, 0.5]), jnp.array([0.0, -0.3]))
    new = (jnp.array([0.2, 0.4]), jnp.array([-0.1, -0.2]))
    keys = jax.random.split(jax.random.key(0), 200_000)
    x = jax.vmap(D.gaussian_sample, in_axes=(0, None))(keys, old)
    log_ratio = jax.vmap(D.gaussian_log_prob, in_axes=(None, 0))(new, x) - jax.vmap(
        D.gaussian_log_prob, in_axes=(None, 0)
    )(old, x)
    kl = float(D.gaussian_kl(old, new))
    spread = {}
    for name in ("k1", "k3"):
        k = np.asarray(ESTIMATORS[name](log_ratio), np.float64)
        se = k.std() / np.sqrt(k.size)
        assert abs(k.mean() - kl) < 4 * se + 1e-6, (name, k.mean(), kl, se)
        spread[name] = k.std()
    assert spread["k3"] < spread["k1"]


@given(st.lists(st.floats(-30.0, 30.0, width=32), min_size=1, max_size=16))
def test_k2_and_k3_are_nonnegative_and_k3_matches_float64(xs):
    x = jnp.asarray(xs, jnp.float32)
    assert np.all(np.asarray(divergence.kl_k2(x)) >= 0.0)
    k3 = np.asarray(divergence.kl_k3(x))
    assert np.all(k3 >= 0.0) and np.all(np.isfinite(k3))
    x64 = np.asarray(x, np.float64)
    np.testing.assert_allclose(k3, np.expm1(x64) - x64, rtol=1e-5, atol=1e-12)


def test_estimators_vanish_at_equal_policies_and_k3_is_accurate_near_it():
    zero = jnp.zeros(3)
    for name, k in ESTIMATORS.items():
        np.testing.assert_array_equal(k(zero), 0.0, err_msg=name)
    # k3 = x²/2 + x³/6 + …: near x = 0 the naive exp(x) − 1 − x cancels to 0 or noise.
    x = jnp.array([1e-3, -1e-3, 1e-4], jnp.float32)
    x64 = np.asarray(x, np.float64)
    np.testing.assert_allclose(divergence.kl_k3(x), np.expm1(x64) - x64, rtol=1e-6)


@given(st.lists(st.floats(-5.0, 5.0, width=32), min_size=1, max_size=8))
def test_k3_gradient_is_r_minus_one(xs):
    x = jnp.asarray(xs, jnp.float32)
    grad = jax.grad(lambda v: divergence.kl_k3(v).sum())(x)
    np.testing.assert_allclose(grad, np.expm1(np.asarray(x, np.float64)), rtol=1e-5, atol=1e-6)


def test_every_kernel_is_reexported_by_name():
    import inspect

    import purerl.kernels as K

    for module in K.MODULES:
        public = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__
            and (inspect.isfunction(v) or inspect.isclass(v))
        ]
        for name in public:
            assert name in K.__all__ and getattr(K, name) is getattr(module, name), name
    assert len(K.__all__) == len(set(K.__all__))
