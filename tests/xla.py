"""XLA build settings for tests (see ``tests/conftest.py``): the suite compiles at LLVM -O0 by
default; run-bound tests, such as the learning tests, compile with ``OPTIMIZED``."""

import functools
import os

import jax

# XLA's defaults but LLVM -O1 (fusion emitters on, as by default): runs as fast as the -O3
# build users get and compiles ~40% faster (measured, one core: RLHF-PPO learning test
# compile 52 -> 33 s, run 22 s either way; GRPO 37 -> 21 s, run 42 vs 41 s). Float results
# differ from -O3 in the last bits, so a learning test's figures are this build's.
OPTIMIZED = {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": True}

optimized_jit = functools.partial(jax.jit, compiler_options=OPTIMIZED)

SUITE_FLAG = "--xla_backend_optimization_level=0"  # what tests/conftest.py adds


def optimized_flags() -> str:
    """XLA_FLAGS for a subprocess that should build programs as the learning tests do
    (``OPTIMIZED``: LLVM -O1 instead of the suite's -O0)."""
    kept = [f for f in os.environ.get("XLA_FLAGS", "").split() if f != SUITE_FLAG]
    return " ".join(["--xla_backend_optimization_level=1", *kept])


def with_devices(count: int) -> dict[str, str]:
    """The environment for a subprocess that sees ``count`` host devices, keeping the
    suite's other XLA flags."""
    flags = os.environ.get("XLA_FLAGS", "")
    return {**os.environ, "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={count}"}
