"""Property tests for purerl.kernels.trust_region."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

from purerl.kernels import distributions, trust_region

seeds = st.integers(0, 2**31 - 1)


def spd(rng, n, cond=50.0):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * np.geomspace(1.0, cond, n)) @ q.T


@jax.jit
def solve(a, b):
    return trust_region.conjugate_gradient(lambda v: a @ v, b, 2 * b.shape[0])


@functools.partial(jax.jit, static_argnums=2)
def solve_in(a, b, iters):
    return trust_region.conjugate_gradient(lambda v: a @ v, b, iters)


@given(seeds, st.sampled_from([1, 5, 12]))
def test_conjugate_gradient_solves_random_spd_systems(seed, n):
    rng = np.random.default_rng(seed)
    a = spd(rng, n).astype(np.float32)
    b = rng.normal(size=n).astype(np.float32)
    x = solve(jnp.asarray(a), jnp.asarray(b))
    np.testing.assert_allclose(a @ np.asarray(x), b, rtol=1e-3, atol=1e-3 * np.abs(b).max())


@given(seeds)
def test_conjugate_gradient_stops_changing_once_solved(seed):
    rng = np.random.default_rng(seed)
    a = jnp.asarray(spd(rng, 4, cond=3.0), jnp.float32)
    b = jnp.asarray(rng.normal(size=4), jnp.float32)
    x8, x40 = solve_in(a, b, 8), solve_in(a, b, 40)
    assert np.all(np.isfinite(np.asarray(x40)))
    np.testing.assert_allclose(x8, x40, rtol=1e-3, atol=1e-4)


# A tiny tanh policy over 3 actions; parameters as one flat vector.
_THETA, UNRAVEL = ravel_pytree(dict(w1=jnp.zeros((4, 3)), b1=jnp.zeros(4), w2=jnp.zeros((3, 4))))
P = _THETA.shape[0]


def logits(theta, obs):
    p = UNRAVEL(theta)
    return jnp.tanh(obs @ p["w1"].T + p["b1"][None, :]) @ p["w2"].T


def mean_kl_from(theta_old, obs):
    old = jax.lax.stop_gradient(logits(theta_old, obs))
    return lambda th: jnp.mean(jax.vmap(distributions.categorical_kl)(old, logits(th, obs)))


def policy_problem(seed):
    rng = np.random.default_rng(seed)
    theta = jnp.asarray(rng.normal(size=P), jnp.float32)
    obs = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    v = jnp.asarray(rng.normal(size=P), jnp.float32)
    return theta, obs, v


@jax.jit
def fvp_and_hessian(theta, obs, v):
    kl = mean_kl_from(theta, obs)
    return trust_region.fisher_vector_product(kl, theta, v, damping=0.1), jax.hessian(kl)(theta)


@given(seeds)
def test_fisher_vector_product_equals_explicit_kl_hessian_times_vector(seed):
    theta, obs, v = policy_problem(seed)
    got, hessian = fvp_and_hessian(theta, obs, v)
    np.testing.assert_allclose(got, hessian @ v + 0.1 * v, rtol=1e-3, atol=1e-4)


@jax.jit
def fvp_and_score_jacobian(theta, obs, v):
    fvp = trust_region.fisher_vector_product(mean_kl_from(theta, obs), theta, v)
    jac = jax.jacobian(lambda th: jax.nn.log_softmax(logits(th, obs)))(theta)  # [B, A, P]
    return fvp, jax.nn.softmax(logits(theta, obs)), jac


@given(seeds)
def test_kl_hessian_at_old_parameters_is_the_fisher_information(seed):
    """F = E_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ, the definition the FVP stands in for."""
    theta, obs, v = policy_problem(seed)
    got, probs, jac = fvp_and_score_jacobian(theta, obs, v)
    jac, probs = np.asarray(jac, np.float64), np.asarray(probs, np.float64)
    fisher = np.einsum("ba,bap,baq->pq", probs, jac, jac) / probs.shape[0]
    np.testing.assert_allclose(got, fisher @ np.asarray(v), rtol=1e-3, atol=1e-4)


@given(seeds, st.floats(0.001, 0.1), st.floats(0.01, 10.0))
def test_max_step_scale_puts_the_quadratic_kl_on_the_radius(seed, max_kl, size):
    rng = np.random.default_rng(seed)
    f = spd(rng, 5).astype(np.float32)
    s = (size * rng.normal(size=5)).astype(np.float32)
    beta = trust_region.max_step_scale(jnp.asarray(s), jnp.asarray(f @ s), max_kl)
    step = np.asarray(beta) * s
    np.testing.assert_allclose(0.5 * step @ f @ step, max_kl, rtol=1e-4)


@st.composite
def line_search_problems(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.sampled_from([1, 3, 6]))
    a = spd(rng, n, cond=10.0)
    g = rng.normal(size=n)
    cubic = draw(st.floats(0.0, 5.0))
    step = rng.normal(size=n) * draw(st.floats(0.01, 10.0))
    max_kl = draw(st.floats(1e-3, 0.1))
    return a, g, cubic, step, max_kl, n


def kl_fn(a, cubic):  # a non-quadratic KL: the quadratic model is only a guide
    return lambda th: 0.5 * th @ a @ th + cubic * jnp.sum(jnp.abs(th) ** 3)


def objective_fn(g):
    return lambda th: g @ th - 0.5 * th @ th


@jax.jit
def search(a, g, cubic, step, max_kl):
    theta0 = jnp.zeros_like(g)
    return trust_region.backtracking_line_search(
        objective_fn(g), kl_fn(a, cubic), theta0, step, max_kl, 10, 0.5
    )


@given(line_search_problems())
def test_line_search_never_returns_kl_above_the_radius_or_a_worse_surrogate(problem):
    a, g, cubic, step, max_kl, n = problem
    a, g, step = (jnp.asarray(x, jnp.float32) for x in (a, g, step))
    kl, objective, theta0 = kl_fn(a, cubic), objective_fn(g), jnp.zeros(n)
    out = search(a, g, cubic, step, max_kl)
    assert float(kl(out.params)) <= max_kl * (1 + 1e-5)
    assert float(objective(out.params)) >= float(objective(theta0))
    if bool(out.accepted):
        k = int(round(np.log(float(out.step_fraction)) / np.log(0.5)))
        np.testing.assert_allclose(out.params, theta0 + 0.5**k * step, rtol=1e-5, atol=1e-6)
        for j in range(k):  # every larger step was rejected
            cand = theta0 + 0.5**j * step
            assert float(kl(cand)) > max_kl or float(objective(cand)) <= float(objective(theta0))
    else:
        np.testing.assert_array_equal(out.params, theta0)


def test_line_search_rejects_a_step_that_lowers_the_surrogate():
    out = trust_region.backtracking_line_search(
        lambda th: -jnp.sum(th), lambda th: jnp.sum(th**2), jnp.zeros(2), jnp.ones(2), 1.0
    )
    assert not bool(out.accepted)
    np.testing.assert_array_equal(out.params, np.zeros(2))


@given(st.floats(0.0, 10.0), st.floats(0.0, 1.0), st.floats(1e-3, 0.1), st.floats(0.0, 10.0))
def test_dual_ascent_follows_its_formula(lam, kl, target, lr):
    got = float(trust_region.dual_ascent(lam, kl, target, lr))
    want = max(0.0, np.float32(lam) + np.float32(lr) * (np.float32(kl) - np.float32(target)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got >= 0.0
    if kl > target:
        assert got >= np.float32(lam) - 1e-6
