"""Property tests for purerl.kernels.tabular: Bellman backups, traces, TD(λ) equivalences."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.envs.tabular import random_mdp
from purerl.kernels import distributions as D
from purerl.kernels import returns
from purerl.kernels import tabular as K

seeds = st.integers(0, 2**31 - 1)
gammas = st.sampled_from([0.0, 0.5, 0.9, 0.99])


@given(seeds, gammas)
def test_q_backup_matches_a_numpy_loop(seed, gamma):
    mdp = random_mdp(jax.random.key(seed % 2**16), 4, 3, terminal_fraction=0.3)
    P, R, term = (np.asarray(x) for x in (mdp.P, mdp.R, mdp.terminal))
    v = np.random.default_rng(seed).normal(size=4).astype(np.float32)
    ref = np.zeros((4, 3))
    for s in range(4):
        for a in range(3):
            for s2 in range(4):
                ref[s, a] += P[s, a, s2] * (R[s, a, s2] + gamma * (0.0 if term[s2] else v[s2]))
    q = K.q_backup(mdp.P, mdp.R, mdp.terminal, v, jnp.float32(gamma))
    np.testing.assert_allclose(q, ref, rtol=1e-5, atol=1e-5)
    pi = np.random.default_rng(seed + 1).dirichlet(np.ones(3), size=4).astype(np.float32)
    v_pi = K.v_expectation_backup(mdp.P, mdp.R, mdp.terminal, v, jnp.float32(gamma), pi)
    np.testing.assert_allclose(v_pi, np.where(term, 0.0, (pi * ref).sum(-1)), rtol=1e-5, atol=1e-5)


@given(seeds, st.integers(1, 12))
def test_solve_linear_matches_numpy(seed, n):
    rng = np.random.default_rng(seed)
    a = (rng.normal(size=(n, n)) + n * np.eye(n) * rng.choice([-1, 1])).astype(np.float32)
    b = rng.normal(size=n).astype(np.float32)
    np.testing.assert_allclose(K.solve_linear(a, b), np.linalg.solve(a, b), rtol=1e-4, atol=1e-4)


def test_solve_linear_pivots_past_a_zero_diagonal():
    a = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(K.solve_linear(a, jnp.array([2.0, 3.0])), [3.0, 2.0])


@given(seeds, st.integers(1, 6), st.floats(0.0, 1.0))
def test_epsilon_greedy_probs_give_the_greedy_mass_to_the_first_maximal_action(seed, n, eps):
    q = np.random.default_rng(seed).integers(0, 3, size=n).astype(np.float32)  # with ties
    p = np.asarray(K.epsilon_greedy_probs(q, jnp.float32(eps)))
    first_best = np.arange(n) == np.flatnonzero(q == q.max())[0]
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(p, eps / n + (1 - eps) * first_best, rtol=1e-5, atol=1e-6)
    if eps == 1.0:
        np.testing.assert_allclose(p, 1.0 / n, rtol=1e-6)


@given(seeds, st.integers(1, 6))
def test_greedy_conventions_agree_on_ties(seed, n):
    """ε-greedy at ε = 0, the greedy policy of a Q-table and ε-greedy sampling at ε = 0 all
    pick the first maximal action."""
    q = jnp.asarray(np.random.default_rng(seed).integers(0, 2, size=n).astype(np.float32))
    probs = np.asarray(K.epsilon_greedy_probs(q, jnp.float32(0.0)))
    greedy = np.asarray(K.greedy_policy(q[None]))[0]
    sampled = int(D.epsilon_greedy_sample(jax.random.key(seed), q, 0.0))
    np.testing.assert_array_equal(probs, greedy)
    assert probs[sampled] == 1.0 and sampled == int(np.argmax(np.asarray(q)))


@given(seeds, st.sampled_from(["accumulating", "replacing"]), st.floats(0.0, 1.0))
def test_eligibility_trace_matches_numpy(seed, kind, decay):
    rng = np.random.default_rng(seed)
    e = rng.random(5).astype(np.float32)
    s = int(rng.integers(5))
    ref = decay * e
    ref[s] = ref[s] + 1.0 if kind == "accumulating" else 1.0
    np.testing.assert_allclose(K.eligibility_trace(e, s, jnp.float32(decay), kind), ref, rtol=1e-6)


@given(seeds, st.integers(1, 12))
def test_first_visits_matches_numpy(seed, T):
    rng = np.random.default_rng(seed)
    states = rng.integers(0, 4, size=T)
    valid = np.arange(T) < rng.integers(1, T + 1)
    seen, ref = set(), []
    for s, ok in zip(states, valid):
        ref.append(bool(ok and s not in seen))
        if ok:
            seen.add(s)
    np.testing.assert_array_equal(K.first_visits(states, valid), ref)


def _episode(seed, T, S=4):
    """A terminating episode of a random chain: states [T], rewards [T], next states [T]."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, S, size=T + 1)
    r = rng.normal(size=T).astype(np.float32)
    v = rng.normal(size=S).astype(np.float32)
    return s[:-1], r, s[1:], v


def _offline_backward(s, r, s_next, v, discount, lam, kind="accumulating"):
    """Offline backward view: traces over the episode, V fixed, increments summed (S&B §12.2)."""
    e = jnp.zeros_like(v)
    total = np.zeros_like(v)
    delta = returns.td_error(r, discount, v[s], v[s_next])
    for t in range(len(r)):
        decay = 0.0 if t == 0 else discount[t - 1] * lam
        e = K.eligibility_trace(e, s[t], jnp.float32(decay), kind)
        total = total + delta[t] * np.asarray(e)
    return total


def _terminating(T, gamma):
    discount = np.full(T, gamma, np.float32)
    discount[-1] = 0.0  # the episode terminates at its last step
    return discount


@given(seeds, st.integers(1, 10), gammas, st.sampled_from([0.0, 0.3, 0.8, 1.0]))
def test_offline_forward_view_equals_offline_backward_view(seed, T, gamma, lam):
    s, r, s_next, v = _episode(seed, T)
    discount = _terminating(T, gamma)
    g_lambda = returns.lambda_returns(r, discount, v[s_next], lam)
    forward = K.table_increment(v.shape, s, g_lambda - v[s], np.ones(T, bool))
    backward = _offline_backward(s, r, s_next, v, discount, lam)
    np.testing.assert_allclose(forward, backward, rtol=1e-4, atol=1e-4)


@given(seeds, st.integers(1, 10), gammas)
def test_offline_td_lambda_limits_are_every_visit_mc_and_td0(seed, T, gamma):
    s, r, s_next, v = _episode(seed, T)
    discount = _terminating(T, gamma)
    mask = np.ones(T, bool)
    mc = returns.discounted_returns(r, discount)
    td1 = _offline_backward(s, r, s_next, v, discount, 1.0)
    np.testing.assert_allclose(
        td1, K.table_increment(v.shape, s, mc - v[s], mask), rtol=1e-4, atol=1e-4
    )
    td0 = returns.td_error(r, discount, v[s], v[s_next])
    lam0 = _offline_backward(s, r, s_next, v, discount, 0.0)
    np.testing.assert_allclose(lam0, K.table_increment(v.shape, s, td0, mask), rtol=1e-5, atol=1e-5)
