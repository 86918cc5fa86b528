"""purerl.threefry: the unrolled CPU lowering computes JAX's Threefry-2x32, bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.extend.random import threefry_2x32

from purerl import threefry

# Random123's known-answer vectors for threefry2x32_20: (key, counter) → output.
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


def numpy_threefry(key, counter):
    """Threefry-2x32-20 written from the specification with Python integers."""
    mask = 0xFFFFFFFF
    ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA]
    x = [(counter[0] + ks[0]) & mask, (counter[1] + ks[1]) & mask]
    for i in range(20):
        r = threefry.ROTATIONS[(i // 4) % 2][i % 4]
        x[0] = (x[0] + x[1]) & mask
        x[1] = (((x[1] << r) | (x[1] >> (32 - r))) & mask) ^ x[0]
        if i % 4 == 3:
            s = i // 4 + 1
            x[0] = (x[0] + ks[s % 3]) & mask
            x[1] = (x[1] + ks[(s + 1) % 3] + s) & mask
    return tuple(x)


def test_installed_on_import_unless_disabled():
    assert threefry._installed == (os.environ.get("PURERL_JAX_THREEFRY") != "1")


def test_known_answers_through_jax():
    for key, counter, expected in KNOWN_ANSWERS:
        assert numpy_threefry(key, counter) == expected
        out = threefry_2x32(jnp.array(key, jnp.uint32), jnp.array(counter, jnp.uint32))
        assert tuple(int(v) for v in out) == expected
        direct = jax.jit(threefry.threefry2x32)(*(jnp.uint32(v) for v in (*key, *counter)))
        assert tuple(int(v) for v in direct) == expected


words = st.integers(0, 2**32 - 1)
counters = st.integers(1, 4).flatmap(lambda n: st.lists(words, min_size=2 * n, max_size=2 * n))


@settings(max_examples=25, deadline=None)
@given(st.tuples(words, words), counters)
def test_matches_the_specification(key, counter):
    out = np.asarray(threefry_2x32(jnp.array(key, jnp.uint32), jnp.array(counter, jnp.uint32)))
    half = len(counter) // 2
    expected = [numpy_threefry(key, (counter[i], counter[half + i])) for i in range(half)]
    assert out[:half].tolist() == [e[0] for e in expected]
    assert out[half:].tolist() == [e[1] for e in expected]


SAMPLES = """
import json, jax
k = jax.random.key(7)
a, b = jax.random.split(k)
f = jax.jit(jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 3), (5,))))
print(json.dumps({
    "bits": jax.random.bits(a, (16,)).tolist(),
    "split": jax.random.key_data(jax.random.split(b, 3)).tolist(),
    "normal": [float(x).hex() for x in f(jax.random.split(k, 4)).ravel()],
}))
"""


def test_same_random_numbers_as_jax_own_lowering():
    """jax.random under this lowering gives what it gives under JAX's rolled CPU loop."""

    def run(env_value):
        env = {**os.environ, "PURERL_JAX_THREEFRY": env_value}
        code = ("import purerl, purerl.threefry as t; assert t._installed == "
                f"{env_value != '1'}\n" + SAMPLES)  # fmt: skip
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        return json.loads(proc.stdout)

    assert run("0") == run("1")
