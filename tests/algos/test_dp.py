"""Dynamic programming: properties over random MDPs, and the 4×3 grid world's known values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl.algos import dp
from purerl.envs import tabular as T
from purerl.kernels import tabular as K

TOL = 1e-6
mdp_seeds = st.integers(0, 2**16)
gammas = st.sampled_from([0.0, 0.5, 0.9, 0.95])
shapes = st.sampled_from([(3, 2), (6, 3)])

value_iteration = jax.jit(dp.value_iteration)
q_value_iteration = jax.jit(dp.q_value_iteration)
policy_iteration = jax.jit(dp.policy_iteration, static_argnames="evaluation")
policy_evaluation = jax.jit(dp.policy_evaluation, static_argnames="method")
finite_horizon = jax.jit(dp.finite_horizon_value_iteration, static_argnames="horizon")


def _mdp(seed, shape, **kw):
    return T.random_mdp(jax.random.key(seed), *shape, terminal_fraction=0.3, **kw)


@given(mdp_seeds, shapes, gammas)
def test_value_iteration_satisfies_the_bellman_optimality_equation(seed, shape, gamma):
    mdp = _mdp(seed, shape)
    sol = value_iteration(mdp, gamma, TOL)
    residual = K.v_optimality_backup(mdp.P, mdp.R, mdp.terminal, sol.v, jnp.float32(gamma)) - sol.v
    assert float(jnp.max(jnp.abs(residual))) <= gamma * TOL + 1e-5


@given(mdp_seeds, shapes, gammas, st.sampled_from(["exact", "iterative"]))
def test_policy_iteration_and_value_iteration_agree(seed, shape, gamma, evaluation):
    mdp = _mdp(seed, shape)
    vi = value_iteration(mdp, gamma, TOL)
    pi = policy_iteration(mdp, gamma, evaluation)
    bound = 2 * TOL / (1 - gamma) + 1e-4
    np.testing.assert_allclose(pi.v, vi.v, atol=bound)
    # Both greedy policies are optimal: evaluated exactly, each attains V*.
    for policy in (vi.policy, pi.policy):
        np.testing.assert_allclose(policy_evaluation(mdp, policy, gamma, "exact"), vi.v, atol=bound)


@given(mdp_seeds, shapes, gammas)
def test_exact_and_iterative_policy_evaluation_agree(seed, shape, gamma):
    mdp = _mdp(seed, shape)
    pi = jax.random.dirichlet(jax.random.key(seed + 1), jnp.ones(shape[1]), (shape[0],))
    exact = policy_evaluation(mdp, pi, gamma, "exact")
    iterative = policy_evaluation(mdp, pi, gamma, "iterative")
    np.testing.assert_allclose(exact, iterative, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(exact)[np.asarray(mdp.terminal)], 0.0)


@given(mdp_seeds, shapes, gammas)
def test_q_value_iteration_max_is_value_iteration(seed, shape, gamma):
    mdp = _mdp(seed, shape)
    vi = value_iteration(mdp, gamma, TOL)
    qi = q_value_iteration(mdp, gamma, TOL)
    live = ~np.asarray(mdp.terminal)
    np.testing.assert_allclose(
        np.max(qi.q, -1)[live], vi.v[live], atol=2 * TOL / (1 - gamma) + 1e-4
    )


@given(mdp_seeds, shapes, st.sampled_from([0.5, 0.9, 1.0]))
def test_finite_horizon_values_are_non_decreasing_with_non_negative_rewards(seed, shape, gamma):
    mdp = _mdp(seed, shape, nonnegative=True)
    values = np.asarray(finite_horizon(mdp, gamma, horizon=20).values)
    assert np.all(np.diff(values, axis=0) >= -1e-6)


def test_finite_horizon_matches_the_one_step_recursion():
    mdp = _mdp(3, (6, 3))
    fh = finite_horizon(mdp, 0.9, horizon=5)
    v = jnp.zeros(6)
    for k in range(5):
        q = K.q_backup(mdp.P, mdp.R, mdp.terminal, v, jnp.float32(0.9))
        v = jnp.where(mdp.terminal, 0.0, q.max(-1))
        np.testing.assert_allclose(fh.values[k], v, rtol=1e-6)
        np.testing.assert_array_equal(fh.policies[k], np.argmax(q, -1))


def test_vmap_over_mdps_and_gammas_equals_a_loop():
    mdps = jax.vmap(lambda k: T.random_mdp(k, 5, 2, 0.2))(jax.random.split(jax.random.key(0), 4))
    gammas = jnp.array([0.5, 0.8, 0.9, 0.99])
    batched = jax.jit(jax.vmap(dp.value_iteration))(mdps, gammas)
    exact = jax.jit(jax.vmap(lambda m, g, p: dp.policy_evaluation(m, p, g)))(
        mdps, gammas, batched.policy
    )
    for i in range(4):
        mdp = jax.tree.map(lambda x, i=i: x[i], mdps)
        np.testing.assert_allclose(batched.v[i], value_iteration(mdp, gammas[i]).v, atol=1e-6)
        one = policy_evaluation(mdp, batched.policy[i], gammas[i], "exact")
        np.testing.assert_allclose(exact[i], one, atol=1e-5)


# The CS188 grid world after value iteration, noise 0.2, γ = 0.9, living reward 0 (rows top
# to bottom, the wall as NaN).
BERKELEY_VALUES = [[0.64, 0.74, 0.85, 1.00], [0.57, np.nan, 0.57, -1.00], [0.49, 0.43, 0.48, 0.28]]


def test_gridworld_values_match_the_known_table():
    sol = value_iteration(T.gridworld(noise=0.2), 0.9)
    np.testing.assert_allclose(T.grid_values(sol.v), BERKELEY_VALUES, atol=0.005)
    # Optimal: west at (4,1), away from the −1 exit above it; north at (3,2), beside it.
    policy = dict(zip(T.GRID_CELLS, np.asarray(sol.policy)))
    assert T.GRID_ACTIONS[policy[(4, 1)]] == "west"
    assert T.GRID_ACTIONS[policy[(3, 2)]] == "north"


def test_deterministic_gridworld_finite_horizon():
    fh = finite_horizon(T.gridworld(noise=0.0), 1.0, horizon=100)
    grid = T.grid_values(fh.values[-1])
    expected = np.ones((3, 4))
    expected[1, 1], expected[1, 3] = np.nan, -1.0
    np.testing.assert_allclose(grid, expected)
    # With k steps to go the start (1,1) is worth 1 only once the +1 exit is in reach: 5
    # moves to (4,3) and the exit itself.
    start = T.GRID_CELLS.index(T.GRID_START)
    assert fh.values[4, start] == 0.0 and fh.values[5, start] == 1.0


@pytest.mark.parametrize("size", [4, 8])
@pytest.mark.parametrize("slippery", [True, False])
def test_frozen_lake_is_a_proper_mdp(size, slippery):
    mdp = T.frozen_lake(size, slippery)
    np.testing.assert_allclose(mdp.P.sum(-1), 1.0, rtol=1e-6)
    assert float(mdp.init.sum()) == 1.0 and int(mdp.terminal.sum()) >= 2
    v = value_iteration(mdp, 0.99).v
    start = float(dp.start_value(mdp, v))
    if not slippery:  # the shortest path to G: 2(size − 1) moves, reward at the last
        np.testing.assert_allclose(start, 0.99 ** (2 * (size - 1) - 1), rtol=1e-5)
    else:
        assert 0.0 < start < 1.0
