"""bench/dense_flops.py: the FLOPs of a compiled program's products, loops included."""

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from tests.bench_modules import load

dense_flops = load("dense_flops").dense_flops


def _count(f, *args):
    return dense_flops(jax.jit(f).lower(*args).compile().as_text())


def test_a_loop_counts_its_body_times_its_trip_count():
    x, w = jnp.ones((128, 12)), jnp.ones((12, 8))
    f = lambda x, w: lax.fori_loop(0, 1000, lambda i, a: a + (x * i) @ w, jnp.zeros((128, 8)))  # noqa: E731
    assert _count(f, x, w) == (2 * 128 * 12 * 8 * 1000, True)


def test_nested_loops_multiply_and_vmap_batches_count_every_member():
    """A scan of 7 inside a fori_loop of 5, vmapped over 3: 105 products per member."""
    x, w = jnp.ones((3, 16, 16)), jnp.ones((3, 16, 16))

    def f(x, w):
        inner = lambda a, _: (jnp.tanh(a @ w), None)  # noqa: E731
        return lax.fori_loop(0, 5, lambda i, a: lax.scan(inner, a, None, length=7)[0], x)

    assert _count(jax.vmap(f), x, w) == (2 * 3 * 16 * 16 * 16 * 35, True)


def test_a_loop_of_unknown_length_counts_once_and_says_the_total_is_a_lower_bound():
    x, w = jnp.ones((4, 6)), jnp.ones((6, 6))

    def f(x, w, n):
        body = lambda c: (c[0] + 1, jnp.tanh(c[1] @ w))  # noqa: E731
        return lax.while_loop(lambda c: c[0] < n, body, (0, x))[1]

    assert _count(f, x, w, 5) == (2 * 4 * 6 * 6, False)


def test_hlo_text_without_an_entry_computation_is_refused():
    with pytest.raises(ValueError, match="ENTRY"):
        dense_flops("HloModule nothing\n")
