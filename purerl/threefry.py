"""JAX's Threefry-2x32 hash lowered unrolled on CPU too: the same bits, fewer thunks.

Every ``jax.random`` call with the default key implementation evaluates the Threefry-2x32
hash (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011: 20 rounds of
add, rotate, xor on two 32-bit words, a key injection every 4 rounds). JAX lowers it
unrolled on every platform but the CPU, where it emits a ``fori_loop`` of 5 iterations
of 4 rounds (a smaller program for XLA to compile). An RL program hashes a few times per
environment step, on arrays of a few elements, inside a scan of many steps; each pass of
that small loop is ~17 XLA:CPU thunks, and the loops are a large part of the run.

``install()`` registers the unrolled lowering for the CPU as well (idempotent; ``import
purerl`` calls it unless the environment sets ``PURERL_JAX_THREEFRY=1``). It changes how
programs are built, never what they compute: the hash is the same function, checked
against the Random123 known-answer vectors and against JAX's own lowering in the tests.
Measured side by side on one core (CartPole-v1, 1 seed): PPO 200k steps, run 2.10 → 1.85 s
and compile 13.9 → 11.8 s; DQN 100k steps, run 3.05 → 2.79 s, compile 12.3 → 10.9 s,
identical metrics.

The rule emits the hash's StableHLO itself (``_Words``) rather than tracing it through
``jax.numpy`` and lowering that jaxpr, which took ~10 ms a hash: the same compiled program
(its optimized HLO equal but for instruction names, metrics bit for bit the same), lowered
faster. One core, ``bench/peers.py``'s CartPole settings, fresh processes alternating,
medians of 3: DQN's program lowered in 0.34 → 0.25 s, PPO's in 0.52 → 0.30 s (8 seeds:
0.55 → 0.31 s).

A hash of few counters is computed in a kernel of its own (``lowering``). Unrolled, the
hash is plain elementwise arithmetic, and XLA fuses it into whatever consumes it: a key
derived by ``split`` or ``fold_in`` (a hash of a few counters) was recomputed inside the
loop of the draw that uses it, for every element. DQN's Q-network init draws its 120×84
weight matrix from a key three splits deep; LLVM took 0.8-1.0 s to compile that one
kernel, and the two largest such kernels were 1.8 s of the program's 7.8 s backend compile.
Materialized, the derived keys are read, not recomputed. Measured side by side on one core
(CartPole-v1 500k steps, 1 seed, XLA's default build, two alternations): DQN compile
8.60/7.83 → 5.42/5.87 s, run 9.33/9.22 → 8.97/9.27 s; PPO compile 7.22/6.52 → 6.28/6.24 s,
run 3.37/3.29 → 3.20/3.18 s, metrics bit for bit the same. The 17 algorithms' contract
programs (``tests/algos/cases.py``, one core each, both at once, cores swapped between two
rounds) compiled in 209/203 → 180/169 s in all; their metrics came out bit for bit the same
but discrete TRPO's, whose losses, KL and entropy differed in the last bits from the second
update on (XLA rounded a sum differently once the kernels' boundaries moved). Vmapped over
8 seeds the keys are batched, XLA had not fused their hashes that badly, and PPO showed no
clear change (one core, compile 9.1/9.1 → 10.1/9.5 s and, later, 10.3/10.3 → 12.1/10.1 s;
runs within 3% either way): 20 hash kernels of this kind (~60 ms of compile each) replace
13 fused ones.
"""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.mlir import ir
from jax.extend.mlir.dialects import stablehlo as hlo
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
PARITY = 0x1BD11BDA  # the key schedule's constant (Threefish)
# A hash of at most this many counters (in either word) is materialized (``lowering``):
# key derivation (``split`` of up to this many keys, ``fold_in``) and small draws.
FEW_COUNTERS = 1024
ALL_ONES = np.uint32(0xFFFFFFFF)

_installed = False


def _rotate_left(x, d: int):
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def threefry2x32(key1, key2, x1, x2):
    """The 20-round Threefry-2x32 hash of the counter words (x1, x2) under the key (key1,
    key2), unrolled: uint32 arrays (broadcast together) → the two output words. It uses
    only ``+ ^ << >> |`` (and uint32 constants), so it runs on JAX arrays and, in
    ``lowering``, on ``_Words`` that emit StableHLO."""
    ks = (key1, key2, key1 ^ key2 ^ np.uint32(PARITY))
    x = [x1 + ks[0], x2 + ks[1]]
    for block in range(5):
        for r in ROTATIONS[block % 2]:
            x[0] = x[0] + x[1]
            x[1] = x[0] ^ _rotate_left(x[1], r)
        x[0] = x[0] + ks[(block + 1) % 3]
        x[1] = x[1] + ks[(block + 2) % 3] + np.uint32(block + 1)
    return tuple(x)


def materialized(*words):
    """The uint32 arrays ``words`` (of one shape), unchanged, computed together by an XLA
    kernel of their own: ``w & ~0`` for each word ``w``, written as a reduction over
    ``[w, ~0]``, and XLA:CPU does not fuse a reduction into the elementwise loop that
    consumes it. (``lax.optimization_barrier`` would say this directly, but XLA:CPU removes
    barriers before it fuses.) One variadic reduction for all words, so that their common
    inputs (the hash's rounds) are emitted once per element. A reduction of the words'
    stack holds the hash once per word: DQN's program (bench settings, one core, 3
    alternations) compiled in 6.82/5.84/6.76 s with it, 5.73/5.37/5.37 s with this (the
    fusion emitters' work 2.1-2.4 → 1.7-2.0 s); PPO's showed no clear change; the metrics
    of both and of the 13 environment contract cases came out bit for bit the same."""
    ones = jnp.full(words[0].shape, ALL_ONES)
    return lax.reduce(
        tuple(jnp.stack([w, ones]) for w in words),
        (ALL_ONES,) * len(words),
        lambda a, b: tuple(x & y for x, y in zip(a, b)),
        (0,),
    )


class _Words:
    """A uint32 tensor being emitted as StableHLO, with the operators ``threefry2x32``
    applies: the other operand is another ``_Words`` or a uint32 constant, and the two are
    broadcast as NumPy does, with the operations ``jax.numpy`` would lower them to."""

    def __init__(self, value: ir.Value, shape: tuple[int, ...]):
        self.value, self.shape = value, tuple(shape)

    @classmethod
    def constant(cls, c) -> _Words:
        return cls(mlir.ir_constant(np.uint32(c)), ())

    def broadcast_to(self, shape: tuple[int, ...]) -> ir.Value:
        if self.shape == tuple(shape):
            return self.value
        out = ir.RankedTensorType.get(shape, mlir.dtype_to_ir_type(np.dtype(np.uint32)))
        dims = range(len(shape) - len(self.shape), len(shape))
        return hlo.broadcast_in_dim(out, self.value, mlir.dense_int_array(dims))

    def _apply(self, op, other) -> _Words:
        other = other if isinstance(other, _Words) else _Words.constant(other)
        shape = np.broadcast_shapes(self.shape, other.shape)
        return _Words(op(self.broadcast_to(shape), other.broadcast_to(shape)), shape)

    def __add__(self, other):
        return self._apply(hlo.add, other)

    def __xor__(self, other):
        return self._apply(hlo.xor, other)

    def __or__(self, other):
        return self._apply(hlo.or_, other)

    def __lshift__(self, other):
        return self._apply(hlo.shift_left, other)

    def __rshift__(self, other):  # logical: the words are unsigned
        return self._apply(hlo.shift_right_logical, other)


def lowering(ctx, key1, key2, x1, x2):
    """The lowering rule: ``threefry2x32`` emitted as StableHLO, its output materialized
    when it hashes at most ``FEW_COUNTERS`` counters (a key derivation, read by its
    consumers instead of recomputed in them)."""
    words = (_Words(v, a.shape) for v, a in zip((key1, key2, x1, x2), ctx.avals_in))
    shape = ctx.avals_out[0].shape
    out = [w.broadcast_to(shape) for w in threefry2x32(*words)]
    if max(np.prod(a.shape, dtype=int) for a in ctx.avals_in[2:]) <= FEW_COUNTERS:
        out = _lower_materialized(ctx.replace(avals_in=ctx.avals_out), *out)
    return out


_lower_materialized = mlir.lower_fun(materialized, multiple_results=True)


def install() -> None:
    """Lower ``threefry2x32`` on CPU with ``lowering`` above (for programs lowered from now
    on; idempotent)."""
    global _installed
    if not _installed:
        mlir.register_lowering(threefry2x32_p, lowering, platform="cpu")
        _installed = True


def disabled() -> bool:
    """True when the environment asks to keep JAX's own lowering (``PURERL_JAX_THREEFRY=1``)."""
    return os.environ.get("PURERL_JAX_THREEFRY", "") in ("1", "true", "yes")


def install_unless_disabled() -> None:
    """``install()`` unless ``disabled()``."""
    if not disabled():
        install()
