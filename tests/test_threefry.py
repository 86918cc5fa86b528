"""purerl.threefry: the unrolled CPU lowering computes JAX's Threefry-2x32, bit for bit.

The suite itself keeps JAX's lowering (``PURERL_JAX_THREEFRY=1``, see conftest.py), so the
function is checked here directly, and the lowering that ``import purerl`` installs in a
subprocess that has it."""

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


hash_jit = jax.jit(threefry.threefry2x32)


def test_installed_on_import_unless_disabled():
    assert threefry._installed == (not threefry.disabled())


def test_known_answers():
    for key, counter, expected in KNOWN_ANSWERS:
        assert numpy_threefry(key, counter) == expected
        out = hash_jit(*(jnp.uint32(v) for v in (*key, *counter)))
        assert tuple(int(v) for v in out) == expected


words = st.integers(0, 2**32 - 1)


@settings(max_examples=25, deadline=None)
@given(st.tuples(words, words), st.lists(st.tuples(words, words), min_size=1, max_size=4))
def test_matches_the_specification(key, counters):
    k1, k2 = (jnp.full(len(counters), k, jnp.uint32) for k in key)
    x1, x2 = (jnp.array(c, jnp.uint32) for c in zip(*counters))
    out = np.stack([np.asarray(v) for v in hash_jit(k1, k2, x1, x2)], axis=1)
    assert out.tolist() == [list(numpy_threefry(key, c)) for c in counters]


SAMPLES = """
import json, jax
from jax.extend.random import threefry_2x32
k = jax.random.key(7)
a, b = jax.random.split(k)
f = jax.jit(jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 3), (5,))))
known = [[int(v) for v in threefry_2x32(jax.numpy.array(key, "uint32"),
                                        jax.numpy.array(ctr, "uint32"))]
         for key, ctr in KNOWN]
print(json.dumps({
    "known": known,
    "bits": jax.random.bits(a, (16,)).tolist(),
    "split": jax.random.key_data(jax.random.split(b, 3)).tolist(),
    "shapes": [jax.random.bits(b, s).tolist() for s in [(0,), (1,), (7,), (3, 5)]],
    "batched": jax.jit(jax.vmap(lambda k, i: jax.random.bits(jax.random.fold_in(k, i), (3,))))(
        jax.random.split(a, 4), jax.numpy.arange(4)).tolist(),
    "normal": [float(x).hex() for x in f(jax.random.split(k, 4)).ravel()],
}))
"""


def _json_of_python(code: str, threefry_env: str):
    """What ``code``, run by this Python with ``PURERL_JAX_THREEFRY=threefry_env``, prints
    (one JSON value)."""
    env = {**os.environ, "PURERL_JAX_THREEFRY": threefry_env}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout)


def test_jax_random_is_unchanged_by_the_installed_lowering():
    """In a process with the unrolled lowering installed (``import purerl``), jax.random
    gives the known answers and what it gives under JAX's rolled CPU loop."""

    def run(env_value):
        known = [k[:2] for k in KNOWN_ANSWERS]
        installed = env_value != "1"
        code = f"import purerl\nassert purerl.threefry._installed == {installed}\n"
        return _json_of_python(code + f"KNOWN = {known!r}\n{SAMPLES}", env_value)

    ours, jaxs = run("0"), run("1")
    assert ours["known"] == [list(k[2]) for k in KNOWN_ANSWERS]
    assert ours == jaxs


DERIVED_DRAW = """
import collections, json, re
import jax, purerl

def draw(k):  # from a key two splits deep
    return jax.random.normal(jax.random.split(jax.random.split(k, 3)[1])[0], (120, 84))

def census():
    compiled = jax.jit(draw).lower(jax.random.key(5)).compile()
    header = r"^%?\\S*fused\\S* \\([^\\n]*\\) -> f32\\[120,84\\]\\S* \\{"
    kernels = re.finditer(header + r"\\n(.*?)\\n\\}", compiled.as_text(), re.M | re.S)
    (kernel,) = [m.group(1) for m in kernels]
    ops = collections.Counter(re.findall(r"= (u32\\[[\\d,]*\\])\\S* (?:add|xor)\\(", kernel))
    return dict(ops), compiled(jax.random.key(5)).sum().item()

out = {"materialized": census()}
purerl.threefry.FEW_COUNTERS = 0  # never materialize: the control
jax.clear_caches()
out["fused"] = census()
print(json.dumps(out))
"""


def test_a_derived_key_is_materialized_not_recomputed_in_the_draw_that_reads_it():
    """With the lowering installed, the 120×84 Gaussian draw from a key two splits deep
    hashes its own 10,080 counters under its key and nothing else: the splits' hashes (3
    and 2 counters) are computed once, in kernels of their own. Without the
    materialization (the control) XLA fuses both into the draw's loop, where they are
    recomputed for every element."""
    out = _json_of_python(DERIVED_DRAW, "0")
    (ours, total), (bare, bare_total) = out["materialized"], out["fused"]
    assert total == bare_total
    assert set(ours) <= {"u32[120,84]", "u32[]"}, ours  # its counters, its key's schedule
    assert {"u32[3]", "u32[2]"} <= set(bare), bare
