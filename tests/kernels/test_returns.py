"""Property tests for purerl.kernels.returns against identities and plain NumPy loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import returns
from tests.kernels.strategies import lambdas, trajectories

TOL = dict(rtol=1e-4, atol=1e-4)


# --- plain NumPy references: forward loops over each start step -------------------------------


def episode_end(traj, t):
    """Index of the last step of the episode piece that starts at t (inclusive)."""
    T = len(traj.r_t)
    for k in range(t, T):
        if k == T - 1 or traj.truncated_t[k] or traj.discount_t[k] == 0.0:
            return k
    raise AssertionError


def n_step_ref(traj, t, n):
    end = min(episode_end(traj, t), t + n - 1)
    g, coef = 0.0, 1.0
    for k in range(t, end + 1):
        g += coef * traj.r_t[k]
        coef *= traj.discount_t[k]
    return g + coef * traj.v_t[end]


def lambda_return_ref(traj, t, lam):
    m = episode_end(traj, t) - t + 1
    g = sum((1 - lam) * lam ** (n - 1) * n_step_ref(traj, t, n) for n in range(1, m))
    return g + lam ** (m - 1) * n_step_ref(traj, t, m)


def gae_ref(traj, t, lam):
    adv, coef = 0.0, 1.0
    for k in range(t, episode_end(traj, t) + 1):
        delta = traj.r_t[k] + traj.discount_t[k] * traj.v_t[k] - traj.v_tm1[k]
        adv += coef * delta
        coef *= traj.discount_t[k] * lam
    return adv


def mc_ref(traj, t, bootstrap=True):
    g, coef = 0.0, 1.0
    end = episode_end(traj, t)
    for k in range(t, end + 1):
        g += coef * traj.r_t[k]
        coef *= traj.discount_t[k]
    return g + (coef * traj.v_t[end] if bootstrap else 0.0)


def per_step(ref, traj, *args):
    return np.array([ref(traj, t, *args) for t in range(len(traj.r_t))], np.float32)


def gae(traj, lam, truncation=True):
    return returns.gae(
        traj.r_t, traj.discount_t, traj.v_tm1, traj.v_t, lam,
        traj.truncated_t if truncation else None,
    )  # fmt: skip


# --- agreement with the references ----------------------------------------------------------


@given(trajectories(), lambdas)
def test_gae_matches_numpy_reference(traj, lam):
    np.testing.assert_allclose(gae(traj, lam), per_step(gae_ref, traj, lam), **TOL)


@given(trajectories(), lambdas)
def test_lambda_returns_match_mixture_of_n_step_returns(traj, lam):
    got = returns.lambda_returns(traj.r_t, traj.discount_t, traj.v_t, lam, traj.truncated_t)
    np.testing.assert_allclose(got, per_step(lambda_return_ref, traj, lam), **TOL)


@given(trajectories(), st.integers(1, 20))
def test_n_step_returns_match_numpy_reference(traj, n):
    got = returns.n_step_returns(traj.r_t, traj.discount_t, traj.v_t, n, traj.truncated_t)
    np.testing.assert_allclose(got, per_step(n_step_ref, traj, n), **TOL)


@given(trajectories())
def test_discounted_returns_match_numpy_reference(traj):
    got = returns.discounted_returns(traj.r_t, traj.discount_t, truncated_t=traj.truncated_t)
    np.testing.assert_allclose(got, per_step(mc_ref, traj, False), **TOL)
    got = returns.discounted_returns(traj.r_t, traj.discount_t, traj.v_t, traj.truncated_t)
    np.testing.assert_allclose(got, per_step(mc_ref, traj, True), **TOL)


@given(trajectories())
def test_td_error_matches_numpy(traj):
    want = traj.r_t + traj.discount_t * traj.v_t - traj.v_tm1
    got = returns.td_error(traj.r_t, traj.discount_t, traj.v_tm1, traj.v_t)
    np.testing.assert_allclose(got, want, **TOL)


# --- identities between estimators ----------------------------------------------------------


@given(trajectories())
def test_gae_with_lambda_zero_is_one_step_td_error(traj):
    want = returns.td_error(traj.r_t, traj.discount_t, traj.v_tm1, traj.v_t)
    np.testing.assert_allclose(gae(traj, 0.0), want, **TOL)


@given(trajectories(truncation=False, consistent=True))
def test_gae_with_lambda_one_is_discounted_return_minus_value(traj):
    mc = returns.discounted_returns(traj.r_t, traj.discount_t, traj.v_t)
    np.testing.assert_allclose(gae(traj, 1.0, truncation=False), mc - traj.v_tm1, **TOL)


@given(trajectories(consistent=True), lambdas)
def test_gae_plus_value_is_lambda_return(traj, lam):
    lam_ret = returns.lambda_returns(traj.r_t, traj.discount_t, traj.v_t, lam, traj.truncated_t)
    np.testing.assert_allclose(gae(traj, lam) + traj.v_tm1, lam_ret, **TOL)


@given(trajectories())
def test_lambda_returns_at_one_are_monte_carlo_returns(traj):
    got = returns.lambda_returns(traj.r_t, traj.discount_t, traj.v_t, 1.0, traj.truncated_t)
    np.testing.assert_allclose(got, per_step(mc_ref, traj, True), **TOL)


@given(trajectories())
def test_lambda_returns_at_zero_are_one_step_targets(traj):
    got = returns.lambda_returns(traj.r_t, traj.discount_t, traj.v_t, 0.0, traj.truncated_t)
    np.testing.assert_allclose(got, traj.r_t + traj.discount_t * traj.v_t, **TOL)


@given(trajectories(), st.integers(0, 5))
def test_n_step_with_n_at_least_T_is_bootstrapped_monte_carlo(traj, extra):
    n = len(traj.r_t) + extra
    got = returns.n_step_returns(traj.r_t, traj.discount_t, traj.v_t, n, traj.truncated_t)
    mc = returns.discounted_returns(traj.r_t, traj.discount_t, traj.v_t, traj.truncated_t)
    np.testing.assert_allclose(got, mc, **TOL)


@given(trajectories())
def test_one_step_return_is_td_target(traj):
    got = returns.n_step_returns(traj.r_t, traj.discount_t, traj.v_t, 1, traj.truncated_t)
    np.testing.assert_allclose(got, traj.r_t + traj.discount_t * traj.v_t, **TOL)


@given(trajectories(max_len=8), lambdas)
def test_gamma_zero_makes_every_estimator_myopic(traj, lam):
    traj = traj._replace(discount_t=np.zeros_like(traj.discount_t))
    np.testing.assert_allclose(gae(traj, lam), traj.r_t - traj.v_tm1, **TOL)
    got = returns.lambda_returns(traj.r_t, traj.discount_t, traj.v_t, lam, traj.truncated_t)
    np.testing.assert_allclose(got, traj.r_t, **TOL)


# --- termination vs truncation and episode boundaries ----------------------------------------


def _cut_at(traj, k, how):
    truncated = traj.truncated_t.copy()
    discount = traj.discount_t.copy()
    discount[k] = 0.0 if how == "terminated" else traj.gamma
    truncated[k] = how == "truncated"
    return traj._replace(discount_t=discount, truncated_t=truncated)


@given(trajectories(min_len=3), st.data(), lambdas)
def test_truncated_step_bootstraps_from_final_obs_and_terminated_does_not(traj, data, lam):
    k = data.draw(st.integers(0, len(traj.r_t) - 2))
    trunc = _cut_at(traj, k, "truncated")
    term = _cut_at(traj, k, "terminated")
    expect_trunc = traj.r_t[k] + traj.gamma * traj.v_t[k] - traj.v_tm1[k]
    np.testing.assert_allclose(gae(trunc, lam)[k], expect_trunc, **TOL)
    np.testing.assert_allclose(gae(term, lam)[k], traj.r_t[k] - traj.v_tm1[k], **TOL)
    lam_ret = returns.lambda_returns(trunc.r_t, trunc.discount_t, trunc.v_t, lam, trunc.truncated_t)
    mc = returns.discounted_returns(trunc.r_t, trunc.discount_t, trunc.v_t, trunc.truncated_t)
    for got in (lam_ret, mc):
        np.testing.assert_allclose(got[k], traj.r_t[k] + traj.gamma * traj.v_t[k], **TOL)


@given(trajectories(min_len=3), st.data(), lambdas, st.sampled_from(["truncated", "terminated"]))
def test_no_estimate_leaks_across_an_episode_boundary(traj, data, lam, how):
    k = data.draw(st.integers(0, len(traj.r_t) - 2))
    cut = _cut_at(traj, k, how)
    noise = np.zeros_like(cut.r_t)
    noise[k + 1 :] = 100.0
    later = cut._replace(r_t=cut.r_t + noise, v_tm1=cut.v_tm1 + noise, v_t=cut.v_t + noise)
    estimators = [
        lambda tr: gae(tr, lam),
        lambda tr: returns.lambda_returns(tr.r_t, tr.discount_t, tr.v_t, lam, tr.truncated_t),
        lambda tr: returns.n_step_returns(tr.r_t, tr.discount_t, tr.v_t, 50, tr.truncated_t),
        lambda tr: returns.discounted_returns(tr.r_t, tr.discount_t, tr.v_t, tr.truncated_t),
    ]
    for f in estimators:
        np.testing.assert_allclose(f(cut)[: k + 1], f(later)[: k + 1], **TOL)


# --- transformations ------------------------------------------------------------------------


@given(st.integers(0, 2**31 - 1))
def test_vmap_equals_per_trajectory_and_jit_equals_eager(seed):
    rng = np.random.default_rng(seed)
    B, T = 3, 7
    r, v_tm1, v_t = (rng.normal(size=(B, T)).astype(np.float32) for _ in range(3))
    discount = np.where(rng.random((B, T)) < 0.2, 0.0, 0.9).astype(np.float32)
    truncated = (rng.random((B, T)) < 0.2) & (discount > 0)
    batched = jax.vmap(returns.gae, in_axes=(0, 0, 0, 0, None, 0))(
        r, discount, v_tm1, v_t, 0.9, truncated
    )
    jitted = jax.jit(returns.gae)
    for i in range(B):
        one = returns.gae(r[i], discount[i], v_tm1[i], v_t[i], 0.9, truncated[i])
        np.testing.assert_allclose(batched[i], one, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            jitted(r[i], discount[i], v_tm1[i], v_t[i], 0.9, truncated[i]), one, **TOL
        )


def test_targets_carry_no_gradient():
    r, d, v = jnp.ones(4), jnp.full(4, 0.9), jnp.ones(4)
    grad = jax.grad(lambda v_t: returns.lambda_returns(r, d, v_t, 0.5).sum())(v)
    np.testing.assert_array_equal(grad, 0.0)
    grad = jax.grad(lambda v_tm1: returns.td_error(r, d, v_tm1, v).sum())(v)
    np.testing.assert_array_equal(grad, -1.0)


def test_rank_and_shape_are_checked():
    with pytest.raises(AssertionError):
        returns.gae(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((2, 3)), 0.9)
    with pytest.raises(AssertionError):
        returns.gae(jnp.ones(3), jnp.ones(4), jnp.ones(3), jnp.ones(3), 0.9)
    with pytest.raises(ValueError, match="n must be a positive int"):
        returns.n_step_returns(jnp.ones(3), jnp.ones(3), jnp.ones(3), 0)


# --- the six policy-gradient weights ψ_t -----------------------------------------------------


def done_flags(traj):
    return traj.truncated_t | (traj.discount_t == 0.0)


def total_return_ref(traj, t):
    done = done_flags(traj)
    s = t
    while s > 0 and not done[s - 1]:
        s -= 1
    return mc_ref(traj, s, bootstrap=False)


def psi_ref(kind, traj, lam):
    """Plain loops, one per ψ; ``mc_ref`` etc. stop at truncations and terminations."""
    T = len(traj.r_t)
    if kind == "total_return":
        return per_step(total_return_ref, traj)
    if kind == "reward_to_go":
        return per_step(mc_ref, traj, False)
    if kind == "reward_to_go_baseline":
        return per_step(mc_ref, traj, False) - traj.v_tm1
    if kind == "q_value":
        return per_step(lambda_return_ref, traj, lam)
    if kind == "gae":
        return per_step(gae_ref, traj, lam)
    assert kind == "td_residual"
    return np.array(
        [traj.r_t[t] + traj.discount_t[t] * traj.v_t[t] - traj.v_tm1[t] for t in range(T)]
    )


@given(trajectories(), lambdas, st.sampled_from(returns.PSI))
def test_every_policy_gradient_psi_matches_numpy_reference(traj, lam, kind):
    got = returns.policy_gradient_psi(
        kind, traj.r_t, traj.discount_t, traj.v_tm1, traj.v_t, done_flags(traj), lam
    )
    np.testing.assert_allclose(got, psi_ref(kind, traj, lam), **TOL)


@given(trajectories())
def test_total_return_is_the_reward_to_go_of_the_episode_first_step(traj):
    done = done_flags(traj)
    got = np.asarray(returns.total_returns(traj.r_t, traj.discount_t, done))
    to_go = np.asarray(returns.discounted_returns(traj.r_t, traj.discount_t, None, done))
    starts = np.concatenate([[True], done[:-1]])
    np.testing.assert_allclose(got[starts], to_go[starts], **TOL)
    # constant within each episode
    same_episode = ~done[:-1]
    np.testing.assert_allclose(got[1:][same_episode], got[:-1][same_episode], **TOL)


def test_unknown_psi_raises():
    x = jnp.zeros(3)
    with pytest.raises(ValueError, match="kind"):
        returns.policy_gradient_psi("advantage", x, x, x, x, x.astype(bool))
