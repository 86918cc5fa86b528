"""The XLA:CPU setting ``import purerl`` asks for: copy insertion with region analysis.

Before XLA assigns buffers it inserts copies wherever a value might be overwritten while
something still reads it, then removes those it can prove unneeded. XLA:CPU's default
analysis keeps too many in the off-policy programs: where one transition is stored per
update (``num_envs=1``), XLA computes the minibatch's rows straight from the old replay
buffer and the new item, and then keeps **two copies of the whole buffer per update**
(the buffer read and the buffer written in place). With
``--xla_cpu_copy_insertion_use_region_analysis=true`` (off by default on CPU) the copies
go. Measured side by side (``bench/copy_insertion.py``, 4 seeds, one core, two runs):
DDPG, TD3 and SAC on Pendulum (a 100k-item buffer) run 2.1-3.5x faster; SAC on brax
inverted_pendulum (4 environments, no such copies) 0.95x, PPO and DQN on CartPole
0.90-1.06x (noise). Compile times are unchanged. The metrics came out bit for bit the
same in every case but one: a TD3 seed whose metrics differed in the last bit after ~150
gradient steps and then drifted apart, as under any change of rounding (XLA may round a
sum differently when its buffers move). DQN's ``bench/peers.py`` program (500k steps, one
seed, the unrolled Threefry lowering) has since differed between the two settings too
(2026-12-08): the same drift.

XLA reads ``XLA_FLAGS`` once, when JAX starts its first backend. ``install()`` adds the
flag to ``XLA_FLAGS`` unless the variable names it already (set it to ``false`` there to
opt out), and warns if JAX already runs on the CPU without it: import purerl before running
any JAX computation, or set the flag yourself. Subprocesses inherit the setting.
"""

from __future__ import annotations

import os
import warnings

FLAG = "--xla_cpu_copy_insertion_use_region_analysis"


def _is_flag(entry: str) -> bool:
    """Whether one entry of an ``XLA_FLAGS`` value sets ``FLAG`` (to any value)."""
    return entry.split("=")[0] == FLAG


def _others(xla_flags: str) -> list[str]:
    """The entries of an ``XLA_FLAGS`` value other than ``FLAG``'s."""
    return [f for f in xla_flags.split() if not _is_flag(f)]


def set_flag(xla_flags: str, value: bool) -> str:
    """``xla_flags`` with ``FLAG`` set to ``value``, whatever it named before."""
    return " ".join([*_others(xla_flags), f"{FLAG}={str(value).lower()}"])


def with_flag(xla_flags: str) -> str:
    """``xla_flags`` (an ``XLA_FLAGS`` value) with ``FLAG=true`` appended, unless it names
    ``FLAG`` already (with any value: the user's choice wins)."""
    if any(_is_flag(f) for f in xla_flags.split()):
        return xla_flags
    return set_flag(xla_flags, True)


def _cpu_backend_started() -> bool:
    """Whether JAX has started its backends, running programs on the CPU."""
    import jax
    from jax._src import xla_bridge

    started = getattr(xla_bridge, "backends_are_initialized", None)
    return bool(started and started()) and jax.default_backend() == "cpu"


def install() -> None:
    """Add ``FLAG=true`` to ``os.environ["XLA_FLAGS"]`` (see the module note); warn if a
    JAX backend has already started on the CPU without it."""
    before = os.environ.get("XLA_FLAGS", "")
    after = with_flag(before)
    if after == before:
        return
    os.environ["XLA_FLAGS"] = after
    if _cpu_backend_started():
        warnings.warn(
            "purerl was imported after JAX started its backend, so XLA did not get "
            f"{FLAG}=true (off-policy training runs ~2.5x slower without it): import "
            f"purerl before running JAX computations, or set XLA_FLAGS='{FLAG}=true'.",
            stacklevel=3,
        )
