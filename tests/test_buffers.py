"""Replay buffers: circular order, uniform sampling, prioritized sampling and weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl import buffers

seeds = st.integers(0, 2**31 - 1)
ITEM = {"x": jnp.zeros(2), "i": jnp.int32(0)}


def _items(start, count):
    i = np.arange(start, start + count, dtype=np.int32)
    return {"x": np.stack([i, -i], 1).astype(np.float32), "i": i}


@given(st.integers(1, 12), st.lists(st.integers(1, 5), min_size=1, max_size=12))
def test_circular_buffer_keeps_exactly_the_newest_items_in_order(capacity, batches):
    buffer = buffers.init(ITEM, capacity)
    total = 0
    add = jax.jit(buffers.add)
    for b in batches:
        if b > capacity:
            continue
        buffer = add(buffer, _items(total, b))
        total += b
    data, held = buffers.in_order(buffer)
    expected = np.arange(max(0, total - capacity), total)
    assert int(buffer.size) == min(total, capacity) == int(held.sum())
    np.testing.assert_array_equal(np.asarray(data["i"])[np.asarray(held)], expected)
    np.testing.assert_array_equal(np.asarray(data["x"])[np.asarray(held)][:, 1], -expected)


def test_adding_more_than_the_capacity_at_once_is_an_error():
    with pytest.raises(ValueError, match="capacity"):
        buffers.add(buffers.init(ITEM, 3), _items(0, 4))
    with pytest.raises(ValueError, match="capacity"):
        buffers.init(ITEM, 0)


def test_uniform_sampling_draws_only_held_items_about_equally():
    buffer = buffers.add(buffers.init(ITEM, 100), _items(0, 40))
    items, indices = jax.jit(buffers.sample, static_argnums=2)(buffer, jax.random.key(0), 40_000)
    counts = np.bincount(np.asarray(indices), minlength=100)
    assert counts[40:].sum() == 0
    np.testing.assert_array_equal(np.asarray(items["i"]), np.asarray(indices))
    # Each of 40 items: 1000 expected draws, binomial sd ≈ 31; allow 5 sd.
    assert np.all(np.abs(counts[:40] - 1000) < 5 * 31)


def _prioritized(priorities, alpha=1.0):
    n = len(priorities)
    state = buffers.prioritized_add(buffers.prioritized_init(ITEM, n + 3), _items(0, n))
    return buffers.update_priorities(state, jnp.arange(n), jnp.asarray(priorities), 0.0, alpha)


@given(seeds, st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from([0.0, 0.4, 1.0]))
def test_importance_weights_lie_in_0_1_with_maximum_1(seed, alpha, beta):
    rng = np.random.default_rng(seed)
    priorities = rng.uniform(0.01, 5.0, size=8).astype(np.float32)
    state = _prioritized(priorities, alpha)
    _, indices, weights = buffers.prioritized_sample(state, jax.random.key(seed), 16, beta)
    w = np.asarray(weights)
    assert np.all(w > 0) and np.all(w <= 1.0 + 1e-6)
    np.testing.assert_allclose(w.max(), 1.0, rtol=1e-6)
    # w_i ∝ (N P(i))^−β, here checked against a NumPy computation.
    p = priorities.astype(np.float64) ** alpha
    p = p / p.sum()
    ref = (8 * p[np.asarray(indices)]) ** -beta
    np.testing.assert_allclose(w, ref / ref.max(), rtol=1e-4)


def test_prioritized_sampling_frequency_matches_priority_to_the_alpha():
    priorities = np.array([0.1, 0.5, 1.0, 2.0, 4.0, 0.0], np.float32)
    alpha, draws = 0.7, 200_000
    state = _prioritized(priorities, alpha)
    _, indices, _ = buffers.prioritized_sample(state, jax.random.key(1), draws, 0.4)
    counts = np.bincount(np.asarray(indices), minlength=state.priorities.values.shape[0])
    expected = priorities**alpha / np.sum(priorities**alpha)
    freq = counts[: len(priorities)] / draws
    # Binomial standard error of each frequency, sqrt(p(1 − p)/draws) ≤ 0.0011; allow 5 sd.
    sd = np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(freq - expected) <= 5 * sd + 1e-9), (freq, expected)
    assert counts[len(priorities) - 1 :].sum() == 0  # zero priority and empty slots never drawn


def test_new_items_get_the_largest_priority_seen():
    state = _prioritized(np.array([0.5, 3.0, 1.0], np.float32))
    assert float(state.priorities.largest) == 3.0
    state = buffers.prioritized_add(state, _items(3, 2))
    np.testing.assert_allclose(np.asarray(state.priorities.values)[3:5], 3.0)
    state = buffers.update_priorities(state, jnp.array([0]), jnp.array([-7.0]), 0.01, 1.0)
    np.testing.assert_allclose(float(state.priorities.values[0]), 7.01, rtol=1e-6)
    assert float(state.priorities.largest) == pytest.approx(7.01)
    inactive = buffers.update_priorities(state, jnp.array([1]), jnp.array([9.0]), 0.01, 1.0,
                                         active=False)  # fmt: skip
    np.testing.assert_array_equal(inactive.priorities.values, state.priorities.values)
    assert float(inactive.priorities.largest) == float(state.priorities.largest)


def test_unsampleable_items_are_never_drawn_even_at_alpha_zero():
    """α = 0 is uniform replay over the items held; a placeholder (priority 0) stays 0."""
    state = buffers.prioritized_init(ITEM, 8)
    state = buffers.prioritized_add(state, _items(0, 4), jnp.array([True, False, True, True]))
    state = buffers.update_priorities(state, jnp.array([0, 2]), jnp.array([3.0, 0.1]), 0.0, 0.0)
    _, indices, weights = buffers.prioritized_sample(state, jax.random.key(0), 3000, 0.4)
    counts = np.bincount(np.asarray(indices), minlength=8)
    assert counts[1] == 0 and counts[4:].sum() == 0
    assert np.all(np.abs(counts[[0, 2, 3]] - 1000) < 5 * 26)  # binomial sd ≈ 26
    np.testing.assert_allclose(weights, 1.0)
