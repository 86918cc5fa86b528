"""bench/compile_phases.py: XLA:CPU's compile phases, read from a profiler trace."""

import jax
import jax.numpy as jnp

from tests.bench_modules import load
from tests.xla import BITWISE

compile_phases = load("compile_phases")


def _span(name, ms, **args):
    return {"ph": "X", "name": name, "dur": ms * 1e3, "ts": 0, "args": args}


def test_phases_sum_their_events_and_group_fusions_by_kind():
    events = [
        _span("CpuCompiler::RunBackend", 900),
        _span("HLO passes through layout assignment (jit_f)", 100),
        _span("HLO passes after layout assignment (jit_f)", 50),
        _span("ThunkEmitter::EmitEntryComputation", 200),
        _span("ThunkEmitter::ConsumeKernels", 300),
        _span("FusionCompiler::Compile", 40, module="pad_reduce_fusion.21_kernel_module"),
        _span("FusionCompiler::Compile", 20, module="pad_reduce_fusion_kernel_module"),
        _span("FusionCompiler::Compile", 30, module="wrapped_broadcast.3_kernel_module"),
        _span("JitCompiler::Compile", 400),
        *[_span("TaskDispatcher::dispatch", 100) for _ in range(4)],
        {"ph": "i", "name": "JitCompiler::Compile", "ts": 0},  # an instant: not a span
    ]
    phases = compile_phases.phases_of_trace(events)
    assert phases["hlo_passes"] == 0.15 and phases["thunk_emission"] == 0.5
    assert phases["fusion_emitter"] == 0.09 and phases["fusions"] == 3
    assert phases["llvm_codegen"] == 0.4 and phases["kernels"] == 4
    assert list(phases["by_fusion_kind"].items()) == [
        ("pad_reduce_fusion", {"count": 2, "ms": 60.0}),
        ("wrapped_broadcast", {"count": 1, "ms": 30.0}),
    ]
    assert phases["missing"] == []
    assert compile_phases.phases_of_trace([])["missing"] == list(compile_phases.EVENTS)


def test_the_costliest_kinds_are_named_and_the_rest_summed():
    kinds = {f"k{i}": {"count": 1, "ms": float(i)} for i in range(14)}
    kept = compile_phases.costliest_kinds(kinds, keep=12)
    assert list(kept)[:3] == ["k13", "k12", "k11"] and len(kept) == 13
    assert kept["other kinds"] == {"count": 2, "ms": 1.0}  # k1 and k0
    assert "other kinds" not in compile_phases.costliest_kinds(kinds, keep=14)


def test_a_real_compile_has_every_phase_and_runs():
    """Fails when XLA renames the trace events the phases are read from."""
    f = jax.jit(lambda x: jnp.tanh(x @ x.T).sum(0), compiler_options=BITWISE)
    compiled, phases = compile_phases.compile_with_phases(f.lower(jnp.ones((8, 8))))
    assert phases["missing"] == [], phases
    assert phases["fusions"] >= 1 and phases["kernels"] >= 1
    assert 0 < phases["backend"] <= phases["total"]
    assert compiled(jnp.ones((8, 8))).shape == (8,)
