"""Replay buffers as pure functions over pytrees: uniform and proportional prioritized.

A buffer holds ``capacity`` items of a fixed pytree structure in arrays with a leading
``capacity`` axis, written circularly: once full, each new item replaces the oldest.
``add`` takes a batch of items (a leading axis, e.g. one per environment).

Prioritized replay (Schaul et al., "Prioritized Experience Replay", 2016, proportional
variant): item i is sampled with probability P(i) = p_i^α / Σ_k p_k^α, where p_i = |δ_i| + ε
after its last update and new items get the largest priority seen so far. Importance
weights w_i = (N · P(i))^−β are divided by the largest in the batch, so they lie in (0, 1].
The buffer stores p_i^α, computed once when a priority is set: sampling then costs a sum
and a search, not a power of every item (which was half of a DQN update's sampling time).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp


class Buffer(NamedTuple):
    data: Any  # pytree of [capacity, ...] arrays
    position: jax.Array  # int32 index the next item is written to
    size: jax.Array  # int32 number of items held (≤ capacity)


class Priorities(NamedTuple):
    """The sampling weights of a prioritized buffer, apart from its items: what changes
    during a sequence of gradient steps (the items stay read-only)."""

    values: jax.Array  # [capacity] p_i^α = (|δ_i| + ε)^α (0: empty or never to be drawn)
    largest: jax.Array  # the largest p_i^α seen so far; new items get it


class PrioritizedBuffer(NamedTuple):
    buffer: Buffer
    priorities: Priorities


def capacity(buffer: Buffer) -> int:
    return jax.tree.leaves(buffer.data)[0].shape[0]


def init(item: Any, capacity: int) -> Buffer:
    """An empty buffer for items shaped like ``item`` (one unbatched example)."""
    if not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be a positive int, got {capacity!r}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.result_type(x)), item)
    zero = jnp.zeros((), jnp.int32)
    return Buffer(data, zero, zero)


def _slots(buffer: Buffer, batch: int) -> jax.Array:
    cap = capacity(buffer)
    if batch > cap:
        raise ValueError(f"cannot add {batch} items at once to a buffer of capacity {cap}")
    return (buffer.position + jnp.arange(batch)) % cap


def _batch_size(items: Any) -> int:
    sizes = {x.shape[0] for x in jax.tree.leaves(items)}
    chex.assert_equal(len(sizes), 1)
    return sizes.pop()


def add(buffer: Buffer, items: Any) -> Buffer:
    """Write a batch of items (leading axis B ≤ capacity) after the newest ones."""
    batch = _batch_size(items)
    slots = _slots(buffer, batch)
    data = jax.tree.map(lambda d, x: d.at[slots].set(x), buffer.data, items)
    cap = capacity(buffer)
    return Buffer(data, (buffer.position + batch) % cap, jnp.minimum(buffer.size + batch, cap))


def sample(buffer: Buffer, key: jax.Array, batch_size: int) -> tuple[Any, jax.Array]:
    """``batch_size`` items drawn uniformly with replacement: ``(items, indices)``."""
    indices = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda d: d[indices], buffer.data), indices


def in_order(buffer: Buffer) -> tuple[Any, jax.Array]:
    """All slots from oldest to newest, and a mask of those that hold an item."""
    cap = capacity(buffer)
    start = jnp.where(buffer.size < cap, 0, buffer.position)
    order = (start + jnp.arange(cap)) % cap
    return jax.tree.map(lambda d: d[order], buffer.data), jnp.arange(cap) < buffer.size


# --- prioritized ---------------------------------------------------------------------------


def prioritized_init(item: Any, capacity: int) -> PrioritizedBuffer:
    priorities = Priorities(jnp.zeros(capacity, jnp.float32), jnp.ones((), jnp.float32))
    return PrioritizedBuffer(init(item, capacity), priorities)


def prioritized_add(
    state: PrioritizedBuffer, items: Any, sampleable: jax.Array | None = None
) -> PrioritizedBuffer:
    """Add items with the largest priority seen so far, so each is replayed at least once soon.

    ``sampleable`` ``[B]`` (optional): False gives an item priority 0, so it is never drawn
    (for any α: the stored value is p^α, and 0 stays 0).
    """
    slots = _slots(state.buffer, _batch_size(items))
    new = state.priorities.largest
    if sampleable is not None:
        new = new * sampleable.astype(jnp.float32)
    priorities = state.priorities._replace(values=state.priorities.values.at[slots].set(new))
    return PrioritizedBuffer(add(state.buffer, items), priorities)


def sampling_probabilities(state: PrioritizedBuffer) -> jax.Array:
    """P(i) = p_i^α / Σ_k p_k^α over the items held (0 for empty slots)  → ``[capacity]``."""
    scaled = state.priorities.values  # p^α, 0 in empty slots
    return scaled / jnp.maximum(jnp.sum(scaled), 1e-30)


def prioritized_sample(
    state: PrioritizedBuffer, key: jax.Array, batch_size: int, beta: jax.Array
) -> tuple[Any, jax.Array, jax.Array]:
    """``(items, indices, weights)``: indices drawn with P(i), weights (N P(i))^−β / max."""
    probs = sampling_probabilities(state)
    indices = jax.random.choice(key, probs.shape[0], (batch_size,), p=probs)
    n = jnp.maximum(state.buffer.size, 1).astype(jnp.float32)
    weights = jnp.power(n * probs[indices], -beta)
    weights = weights / jnp.max(weights)
    return jax.tree.map(lambda d: d[indices], state.buffer.data), indices, weights


def update_priorities(
    state: PrioritizedBuffer,
    indices: jax.Array,
    td_error: jax.Array,
    eps: jax.Array,
    alpha: jax.Array,
    active: jax.Array | bool = True,
) -> PrioritizedBuffer:
    """p_i ← |δ_i| + ε for the sampled ``indices`` (a later duplicate wins), stored as p_i^α;
    where ``active`` is False the priorities stay as they were."""
    chex.assert_equal_shape([indices, td_error])
    new = jnp.where(
        active, jnp.power(jnp.abs(td_error) + eps, alpha), state.priorities.values[indices]
    )
    priorities = Priorities(
        values=state.priorities.values.at[indices].set(new),
        largest=jnp.maximum(state.priorities.largest, jnp.max(new)),
    )
    return state._replace(priorities=priorities)
