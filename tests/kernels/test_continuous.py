"""Property tests for the off-policy continuous-control kernels and the squashed Gaussian."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import continuous, distributions

seeds = st.integers(0, 2**31 - 1)
discounts = st.sampled_from([0.0, 0.5, 0.99, 1.0])
ensembles = st.integers(1, 4)


def _rng(seed):
    return np.random.default_rng(seed)


def _box(rng, d):
    low = rng.uniform(-3.0, 0.5, d).astype(np.float32)
    return low, (low + rng.uniform(0.2, 4.0, d)).astype(np.float32)


# --- tanh-squashed Gaussian ------------------------------------------------------------------


@given(st.floats(-60.0, 60.0))
def test_tanh_log_det_is_the_naive_form_where_that_is_finite_and_finite_everywhere(u):
    stable = float(distributions.tanh_log_det_jacobian(jnp.float32(u)))
    assert math.isfinite(stable)
    if abs(u) < 8.0:  # 1 − tanh² u is still representable in float64
        naive = math.log(1.0 - math.tanh(u) ** 2)
        assert stable == pytest.approx(naive, abs=1e-4, rel=1e-4)
    else:  # the exact asymptote 2 (log 2 − |u|)
        assert stable == pytest.approx(2.0 * (math.log(2.0) - abs(u)), rel=1e-5)


def test_tanh_log_det_gradient_is_finite_far_out():
    grads = jax.vmap(jax.grad(distributions.tanh_log_det_jacobian))(jnp.array([-80.0, 0.0, 80.0]))
    np.testing.assert_allclose(grads, [2.0, 0.0, -2.0], atol=1e-6)


@given(seeds, st.integers(1, 3))
def test_squashed_log_prob_matches_the_change_of_variables_in_float64(seed, d):
    rng = _rng(seed)
    mean = rng.normal(size=d).astype(np.float32)
    log_std = rng.uniform(-1.5, 0.5, d).astype(np.float32)
    u = (mean + np.exp(log_std) * rng.normal(size=d)).astype(np.float32)
    low, high = _box(rng, d)
    got = distributions.squashed_gaussian_log_prob((mean, log_std), u, low, high)
    m, s, x = (v.astype(np.float64) for v in (mean, log_std, u))
    half = (high.astype(np.float64) - low) / 2.0
    gauss = -0.5 * (((x - m) / np.exp(s)) ** 2 + 2 * s + math.log(2 * math.pi))
    # density of a = c + h tanh(u): p(a) = N(u) / |da/du| = N(u) / (h (1 − tanh² u))
    expected = np.sum(gauss - np.log(half * (1.0 - np.tanh(x) ** 2)))
    assert float(got) == pytest.approx(expected, abs=2e-3, rel=1e-4)


def _density_on_grid(mean, log_std, low, high, n=200_001):
    """The 1-D density p(a) on a grid strictly inside (low, high) (via u = atanh)."""
    a = np.linspace(low, high, n)[1:-1]
    c, h = (high + low) / 2, (high - low) / 2
    u = np.arctanh((a - c) / h).astype(np.float32)
    logp = jax.vmap(
        lambda ui: distributions.squashed_gaussian_log_prob(
            (jnp.array([mean]), jnp.array([log_std])), ui[None], low, high
        )
    )(jnp.asarray(u))
    return a, np.exp(np.asarray(logp, np.float64))


@given(
    st.floats(-1.0, 1.0),
    st.floats(-1.0, 0.3),
    st.sampled_from([(-1.0, 1.0), (-2.0, 2.0), (0.0, 0.5)]),
)
def test_squashed_density_integrates_to_one_on_the_box(mean, log_std, bounds):
    a, p = _density_on_grid(mean, log_std, *bounds)
    assert np.trapezoid(p, a) == pytest.approx(1.0, abs=2e-3)


def test_squashed_samples_follow_the_density_monte_carlo():
    """Fractions of 200k samples in 8 bins of the box agree with the density's integral over
    each bin (within 4 standard errors), on an asymmetric box."""
    mean, log_std, low, high = 0.4, -0.3, -2.0, 1.0
    keys = jax.random.split(jax.random.key(0), 200_000)
    params = (jnp.array([mean]), jnp.array([log_std]))
    actions, logp = jax.vmap(
        lambda k: distributions.squashed_gaussian_sample(k, params, low, high)
    )(keys)
    actions = np.asarray(actions[:, 0], np.float64)
    assert np.all((actions >= low) & (actions <= high))
    a, p = _density_on_grid(mean, log_std, low, high)
    edges = np.linspace(low, high, 9)
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (a >= lo) & (a <= hi)
        expected = np.trapezoid(p[inside], a[inside])
        frac = np.mean((actions >= lo) & (actions < hi))
        se = math.sqrt(max(expected * (1 - expected), 1e-6) / len(actions))
        assert abs(frac - expected) < 4 * se + 2e-4, (lo, hi, frac, expected)
    # the returned log-prob is the density at the sampled action
    u = np.arctanh((2 * actions[:10] - (high + low)) / (high - low))
    again = [
        distributions.squashed_gaussian_log_prob(params, jnp.array([x], jnp.float32), low, high)
        for x in u
    ]
    np.testing.assert_allclose(again, logp[:10], rtol=1e-3, atol=1e-3)


@given(seeds, st.integers(1, 3))
def test_squashed_mode_and_samples_stay_in_the_box(seed, d):
    rng = _rng(seed)
    params = (
        rng.normal(scale=5.0, size=d).astype(np.float32),
        rng.uniform(-3, 2, d).astype(np.float32),
    )
    low, high = _box(rng, d)
    mode = distributions.squashed_gaussian_mode(params, low, high)
    action, logp = distributions.squashed_gaussian_sample(jax.random.key(seed), params, low, high)
    for a in (mode, action):
        assert np.all((np.asarray(a) >= low) & (np.asarray(a) <= high))
    assert np.isfinite(logp)


def test_squashed_gaussian_rejects_mismatched_ranks():
    with pytest.raises(AssertionError):
        distributions.squashed_gaussian_log_prob((jnp.zeros(2), jnp.zeros(2)), jnp.zeros(3))
    with pytest.raises(AssertionError):
        distributions.squashed_gaussian_mode((jnp.zeros(()), jnp.zeros(())))


# --- targets ----------------------------------------------------------------------------------


@given(seeds, ensembles, discounts)
def test_clipped_double_q_target_is_below_every_single_critic_target(seed, e, discount):
    rng = _rng(seed)
    q = (3 * rng.normal(size=e)).astype(np.float32)
    r = np.float32(rng.normal())
    y = continuous.clipped_double_q_target(r, discount, q)
    singles = [continuous.clipped_double_q_target(r, discount, q[i : i + 1]) for i in range(e)]
    assert all(y <= s for s in singles)
    assert float(y) == pytest.approx(r + discount * q.min(), abs=1e-5)
    assert float(singles[0]) == pytest.approx(r + discount * q[0], abs=1e-5)  # DDPG's target


@given(seeds, ensembles, discounts, st.sampled_from([0.0, 0.05, 1.0]))
def test_soft_target_matches_numpy_and_is_clipped_double_q_at_alpha_zero(seed, e, discount, alpha):
    rng = _rng(seed)
    q = (3 * rng.normal(size=e)).astype(np.float32)
    r, logp = np.float32(rng.normal()), np.float32(rng.normal(scale=2.0))
    y = continuous.soft_q_target(r, discount, q, logp, alpha)
    assert float(y) == pytest.approx(r + discount * (q.min() - alpha * logp), abs=1e-5)
    if alpha == 0.0:
        assert y == continuous.clipped_double_q_target(r, discount, q)


def test_targets_are_stop_gradient_and_rank_checked():
    q = jnp.array([1.0, 2.0])
    assert jax.grad(lambda x: continuous.clipped_double_q_target(1.0, 0.9, x))(q).sum() == 0
    assert jax.grad(lambda x: continuous.soft_q_target(1.0, 0.9, x, 0.1, 0.2))(q).sum() == 0
    with pytest.raises(AssertionError):
        continuous.clipped_double_q_target(jnp.zeros(2), 0.9, q)
    with pytest.raises(AssertionError):
        continuous.soft_q_target(1.0, 0.9, jnp.float32(1.0), 0.1, 0.2)


@given(seeds, st.integers(1, 3), st.floats(0.0, 1.0))
def test_smoothing_noise_stays_within_c_and_actions_within_the_box(seed, d, clip):
    rng = _rng(seed)
    low, high = _box(rng, d)
    action = rng.uniform(low, high).astype(np.float32)
    noise = rng.normal(scale=10.0, size=d).astype(np.float32)  # often far beyond ±c
    out = np.asarray(continuous.smoothed_target_action(action, noise, clip, low, high))
    assert np.all((out >= low) & (out <= high))
    inside = (action + np.clip(noise, -clip, clip) >= low) & (
        action + np.clip(noise, -clip, clip) <= high
    )
    moved = out - action
    assert np.all(np.abs(moved) <= clip + 1e-6)
    np.testing.assert_allclose(moved[inside], np.clip(noise, -clip, clip)[inside], atol=1e-6)


# --- losses, temperature, Polyak ----------------------------------------------------------------


def test_deterministic_policy_loss_gradient_is_minus_the_critic_gradient():
    q = lambda a: -jnp.sum(jnp.square(a - 0.3))  # noqa: E731
    a = jnp.array([0.1, -0.5])
    grad = jax.grad(lambda x: continuous.deterministic_policy_loss(q(x)))(a)
    np.testing.assert_allclose(grad, -jax.grad(q)(a), rtol=1e-6)


@given(seeds, ensembles, st.sampled_from([0.0, 0.2, 1.0]))
def test_soft_policy_loss_is_alpha_log_prob_minus_min_q(seed, e, alpha):
    rng = _rng(seed)
    q, logp = rng.normal(size=e).astype(np.float32), np.float32(rng.normal())
    got = continuous.soft_policy_loss(logp, q, alpha)
    assert float(got) == pytest.approx(alpha * logp - q.min(), abs=1e-5)


@given(
    st.floats(-3.0, 3.0), st.floats(-5.0, 5.0), st.integers(1, 6), st.sampled_from([0.5, 1.0, 2.0])
)
def test_temperature_gradient_raises_alpha_below_target_entropy_and_lowers_it_above(
    log_alpha, logp, d, scale
):
    target = continuous.target_entropy(d, scale)
    assert float(target) == -scale * d
    grad = float(
        jax.grad(continuous.temperature_loss)(jnp.float32(log_alpha), jnp.float32(logp), target)
    )
    entropy = -logp
    if entropy < float(target) - 1e-3:  # too little entropy: descent (−grad) raises log α
        assert grad < 0
    elif entropy > float(target) + 1e-3:
        assert grad > 0
    assert grad == pytest.approx(-math.exp(log_alpha) * (logp + float(target)), rel=1e-4, abs=1e-5)


@given(seeds, st.sampled_from([0.0, 0.005, 0.5, 1.0]))
def test_polyak_copies_at_one_keeps_at_zero_and_mixes_between(seed, tau):
    rng = _rng(seed)
    online = {
        "w": rng.normal(size=(3, 2)).astype(np.float32),
        "b": rng.normal(size=2).astype(np.float32),
    }
    target = jax.tree.map(lambda x: x + rng.normal(size=x.shape).astype(np.float32), online)
    mixed = continuous.polyak(online, target, jnp.float32(tau))
    chex.assert_trees_all_equal_structs(mixed, online)
    for k in online:
        expected = {1.0: online[k], 0.0: target[k]}.get(
            tau, tau * online[k] + (1 - tau) * target[k]
        )
        np.testing.assert_allclose(mixed[k], expected, rtol=1e-6, atol=1e-6)
