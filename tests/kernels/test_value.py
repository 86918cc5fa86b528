"""Property tests for purerl.kernels.value: Q-learning family targets, losses, dueling."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.kernels import value

seeds = st.integers(0, 2**31 - 1)
num_actions = st.integers(1, 6)
discounts = st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0])


def _q(seed, n, scale=3.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.normal(size=n)).astype(np.float32), rng


@given(seeds, num_actions, discounts)
def test_targets_match_numpy(seed, n, discount):
    q_t, rng = _q(seed, n)
    sel = rng.normal(size=n).astype(np.float32)
    r = np.float32(rng.normal())
    a = int(rng.integers(n))
    probs = rng.dirichlet(np.ones(n)).astype(np.float32)
    y = r + discount * np.array([q_t.max(), q_t[np.argmax(sel)], q_t[a], probs @ q_t])
    got = [
        value.q_learning_target(r, discount, q_t),
        value.double_q_learning_target(r, discount, q_t, sel),
        value.sarsa_target(r, discount, q_t, a),
        value.expected_sarsa_target(r, discount, q_t, probs),
    ]
    np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-5)


@given(seeds, num_actions, discounts)
def test_double_q_with_identical_networks_is_q_learning(seed, n, discount):
    q_t, rng = _q(seed, n)
    r = np.float32(rng.normal())
    assert value.double_q_learning_target(r, discount, q_t, q_t) == value.q_learning_target(
        r, discount, q_t
    )


@given(seeds, num_actions, discounts)
def test_double_q_never_exceeds_the_max_target_with_a_shared_target_network(seed, n, discount):
    q_target, rng = _q(seed, n)
    q_online = rng.normal(size=n).astype(np.float32)
    r = np.float32(rng.normal())
    assert value.double_q_learning_target(r, discount, q_target, q_online) <= (
        value.q_learning_target(r, discount, q_target)
    )


@given(seeds, num_actions, discounts)
def test_expected_sarsa_with_a_one_hot_policy_is_sarsa(seed, n, discount):
    q_t, rng = _q(seed, n)
    a = int(rng.integers(n))
    r = np.float32(rng.normal())
    one_hot = np.eye(n, dtype=np.float32)[a]
    np.testing.assert_allclose(
        value.expected_sarsa_target(r, discount, q_t, one_hot),
        value.sarsa_target(r, discount, q_t, a),
    )


def _n_step_reference(r, d, cut):
    g, scale = 0.0, 1.0
    for i in range(len(r)):
        g += scale * r[i]
        scale *= d[i]
        if cut[i]:
            return g, scale, i + 1
    return g, scale, len(r)


@given(seeds, st.integers(1, 8))
def test_n_step_accumulate_matches_numpy(seed, n):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=n).astype(np.float32)
    terminated = rng.random(n) < 0.2
    cut = terminated | (rng.random(n) < 0.2)
    d = np.where(terminated, 0.0, 0.9).astype(np.float32)
    g, disc, k = value.n_step_accumulate(r, d, cut)
    g_ref, disc_ref, k_ref = _n_step_reference(r, d, cut)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(disc, disc_ref, rtol=1e-6)
    assert int(k) == k_ref


@given(seeds, discounts, st.booleans())
def test_n_step_at_one_is_the_one_step_transition(seed, discount, cut):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=1).astype(np.float32)
    d = np.full(1, discount, np.float32)
    g, disc, k = value.n_step_accumulate(r, d, np.array([cut]))
    q_t = rng.normal(size=3).astype(np.float32)
    assert (float(g), float(disc), int(k)) == (r[0], d[0], 1)
    assert value.q_learning_target(g, disc, q_t) == value.q_learning_target(r[0], d[0], q_t)


@given(seeds, st.floats(0.1, 5.0))
def test_huber_is_half_squared_inside_and_linear_outside(seed, delta):
    rng = np.random.default_rng(seed)
    td = (4 * rng.normal(size=32)).astype(np.float32)
    w = rng.random(32).astype(np.float32)
    inside = np.abs(td) <= delta
    ref = np.where(inside, 0.5 * td**2, delta * (np.abs(td) - 0.5 * delta))
    np.testing.assert_allclose(value.huber_loss(td, delta), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        value.huber_loss(td, delta)[inside], value.squared_loss(td)[inside], rtol=1e-6
    )
    np.testing.assert_allclose(value.huber_loss(td, delta, w), w * ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value.squared_loss(td, w), w * 0.5 * td**2, rtol=1e-6)


def test_loss_gradients_flow_through_q_only():
    q = jnp.array([1.0, 2.0, 3.0])

    def loss(q, target):
        return value.squared_loss(value.q_td_error(q, 1, target))

    gq, gt = jax.grad(loss, argnums=(0, 1))(q, jnp.asarray(5.0))
    np.testing.assert_allclose(gq, [0.0, -3.0, 0.0])
    assert gt == 0.0


@given(seeds, st.integers(2, 6))
def test_dueling_aggregations(seed, n):
    adv, rng = _q(seed, n)
    v = np.float32(rng.normal())
    q_mean = value.dueling(v, adv, "mean")
    q_max = value.dueling(v, adv, "max")
    np.testing.assert_allclose(jnp.mean(q_mean - v), 0.0, atol=1e-5)
    np.testing.assert_allclose(jnp.max(q_max), v, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(q_mean, v + adv - adv.mean(), rtol=1e-5, atol=1e-5)
    # Both keep the advantages' differences, hence the greedy action.
    assert int(jnp.argmax(q_mean)) == int(jnp.argmax(q_max)) == int(np.argmax(adv))


@given(seeds, discounts)
def test_vmap_and_jit_agree_with_per_item_calls(seed, discount):
    rng = np.random.default_rng(seed)
    B, A = 5, 4
    r = rng.normal(size=B).astype(np.float32)
    d = np.full(B, discount, np.float32)
    q_t, q_s = (rng.normal(size=(B, A)).astype(np.float32) for _ in range(2))
    batched = jax.jit(jax.vmap(value.double_q_learning_target))(r, d, q_t, q_s)
    for i in range(B):
        np.testing.assert_allclose(
            batched[i], value.double_q_learning_target(r[i], d[i], q_t[i], q_s[i]), rtol=1e-6
        )


def test_rank_checks_reject_batched_inputs():
    import pytest

    with pytest.raises(AssertionError):
        value.q_learning_target(jnp.zeros(3), jnp.zeros(3), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="aggregation"):
        value.dueling(jnp.zeros(()), jnp.zeros(3), "median")
