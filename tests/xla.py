"""XLA build settings for tests (see ``tests/conftest.py``): the suite compiles with
``SUITE_FLAGS`` by default (LLVM -O0, XLA:CPU's elemental emitters); tests that compare two
programs bit for bit compile with ``BITWISE``, and run-bound tests, such as the learning
tests, with ``OPTIMIZED``."""

import functools
import os

import jax

# XLA's defaults but LLVM -O1 (fusion emitters on, as by default): runs as fast as the -O3
# build users get and compiles ~40% faster (measured, one core: RLHF-PPO learning test
# compile 52 -> 33 s, run 22 s either way; GRPO 37 -> 21 s, run 42 vs 41 s). Float results
# differ from -O3 in the last bits, so a learning test's figures are this build's.
OPTIMIZED = {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": True}

optimized_jit = functools.partial(jax.jit, compiler_options=OPTIMIZED)

# What tests/conftest.py adds to XLA_FLAGS. Most tests run tiny programs a few times: their
# time is the compile, and XLA:CPU's older elemental emitters compile ~3.5x faster than its
# fusion emitters (the default, what users get): the contract tests 186 s -> 91 s on one
# core. But with them the same computation in two programs can round differently: the
# contract's evaluation on vs off differed in the last bits (PPO, DQN, REINFORCE, TRPO,
# SAC), and DQN's and REINFORCE's vmap-vs-loop drifted past the tolerance. So the contract
# cases that need it build with ``BITWISE``: the fusion emitters, still at LLVM -O0 (see
# ``AlgoCase.fusion_emitters``). (The chunked-scan, resume and sharding comparisons of
# tests/experiment hold bit for bit on either.)
SUITE_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")
BITWISE = {"xla_cpu_use_fusion_emitters": True}


def _flags_beyond_the_suite() -> list[str]:
    return [f for f in os.environ.get("XLA_FLAGS", "").split() if f not in SUITE_FLAGS]


def optimized_flags() -> str:
    """XLA_FLAGS for a subprocess that should build programs as the learning tests do
    (``OPTIMIZED``: LLVM -O1 and the fusion emitters, not the suite's build)."""
    return " ".join(["--xla_backend_optimization_level=1", *_flags_beyond_the_suite()])


def with_devices(count: int) -> dict[str, str]:
    """The environment for a subprocess that sees ``count`` host devices, keeping the
    suite's other XLA flags."""
    flags = os.environ.get("XLA_FLAGS", "")
    return {**os.environ, "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={count}"}
