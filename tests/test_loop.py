"""``loop.run`` flags a failed run: ``metrics["nonfinite_at"]`` is the first update whose
metrics held a NaN or ±inf, or the end of the chunk whose state did (issue #12)."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl import loop
from tests.xla import BITWISE

CONFIG = SimpleNamespace(eval_every=0, num_updates=7)


def _algo(update):
    return loop.Algorithm(
        init=lambda config, key: {"w": jnp.ones((2,)), "u": jnp.zeros((), jnp.int32)},
        update=update,
        greedy_policy=None,
    )


def _chunked(algo, lengths):
    progress, parts = loop.start(algo, CONFIG, jax.random.key(0)), []
    for first, length in zip(np.cumsum([0, *lengths[:-1]]), lengths, strict=True):
        progress, metrics = loop.run(algo, CONFIG, progress, int(first), length)
        parts.append(np.asarray(metrics["nonfinite_at"]))
    return np.concatenate(parts)


def test_a_metric_that_overflows_is_dated_to_its_update_and_the_flag_stays():
    """w grows ×1e13 per update from 1: float32 overflows to inf at update 2 (1e39); the
    loss turning finite again from update 5 does not clear the flag."""

    def update(config, s):
        w = s["w"] * 1e13
        loss = jnp.where(s["u"] >= 5, 0.0, jnp.sum(w))
        return {"w": w, "u": s["u"] + 1}, {"loss": loss, "steps": s["u"]}

    algo = _algo(update)
    expected = [-1, -1, 2, 2, 2, 2, 2]
    _, metrics = loop.train(algo, CONFIG, jax.random.key(0))
    np.testing.assert_array_equal(metrics["nonfinite_at"], expected)
    np.testing.assert_array_equal(_chunked(algo, [2, 3, 2]), expected)


def test_a_state_that_goes_nan_while_the_metrics_stay_finite_is_caught_at_the_chunk_end():
    def update(config, s):
        w = jnp.where(s["u"] == 3, jnp.nan, s["w"])  # the parameters break at update 3
        return {"w": w, "u": s["u"] + 1}, {"loss": jnp.float32(1.0)}

    algo = _algo(update)
    _, metrics = loop.train(algo, CONFIG, jax.random.key(0))
    np.testing.assert_array_equal(metrics["nonfinite_at"], [-1] * 6 + [6])
    np.testing.assert_array_equal(_chunked(algo, [2, 3, 2]), [-1, -1, -1, -1, 4, 4, 4])


_jitted_all_finite = jax.jit(loop.all_finite, compiler_options=BITWISE)


@given(
    st.lists(st.sampled_from([0.0, 1.5, -3e38, np.nan, np.inf, -np.inf]), min_size=1, max_size=5)
)
def test_all_finite_matches_numpy_and_ignores_integer_and_key_leaves(values):
    tree = {"x": np.float32(values), "n": jnp.int32(7), "k": jax.random.key(0)}
    expected = bool(np.all(np.isfinite(values)))
    assert bool(loop.all_finite({**tree, "f": max})) == expected
    # compiled, as in train: XLA must not simplify x - x to 0
    assert bool(_jitted_all_finite(tree)) == expected


@given(
    st.lists(st.sampled_from([0.0, 1.5, np.nan, np.inf]), min_size=4, max_size=4),
    st.lists(st.sampled_from([0.0, -2.0, np.nan, -np.inf]), min_size=3, max_size=3),
)
def test_all_finite_checks_every_leaf_of_every_float_dtype(floats, complex_parts):
    """Leaves of four dtypes and three ranks; each drawn value (a complex leaf's imaginary
    part too) alone can make it false."""
    tree = [
        np.float32(floats[0]),
        jnp.bfloat16(floats[1]) * jnp.ones((2, 3), jnp.bfloat16),
        {"w": jnp.float16(np.float32(floats[2])), "b": jnp.float32([floats[3], 1.0])},
        jnp.complex64([1.0, 2.0]) + 1j * jnp.float32(complex_parts[:2]),
        jnp.complex64(complex_parts[2]),
    ]
    expected = np.all(np.isfinite(floats)) and np.all(np.isfinite(complex_parts))
    assert bool(loop.all_finite(tree)) == bool(expected)
    assert bool(_jitted_all_finite(tree)) == bool(expected)


@pytest.mark.parametrize("tree", [{}, {"n": jnp.arange(3)}])
def test_all_finite_of_no_float_leaves_is_true(tree):
    assert bool(loop.all_finite(tree))


@pytest.mark.parametrize("key", [0, 1.5, None])
def test_a_seed_given_for_the_key_is_one_clear_error(key):
    from purerl.algos import tabular

    with pytest.raises(TypeError, match=r"key must be a PRNG key such as jax.random.key\(0\)"):
        tabular.train(tabular.Config(), key)
