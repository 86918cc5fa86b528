"""Where XLA:CPU spends a compile: its phases, read from a profiler trace of the compile.

``compile_with_phases(lowered)`` compiles a lowered JAX program under ``jax.profiler`` and
reads the trace's compiler events into phases (seconds). Three follow each other on the
compiling thread — ``hlo_passes``, then ``thunk_emission`` and ``llvm_codegen``, which with
some bookkeeping make up ``backend``:

- ``hlo_passes``: the HLO optimisation passes (before and after layout assignment);
- ``thunk_emission``: turning the optimised HLO into thunks and their kernels' LLVM IR
  (``ThunkEmitter``: the entry computation, then waiting for its kernels). It includes
  the fusion emitters, which XLA runs on its worker threads:
- ``fusion_emitter``: the fusion emitters' work, summed over their threads — each fusion made
  an MLIR module and lowered to LLVM IR (``FusionCompiler::Compile``, one event per
  fusion: ``fusions``);
- ``llvm_codegen``: LLVM compiling the kernels to machine code (``JitCompiler::Compile``;
  ``kernels`` counts its tasks);
- ``backend``: XLA:CPU's backend (``CpuCompiler::RunBackend``);
- ``total``: the wall time of ``lowered.compile()`` (the tracer adds to it, on both sides of
  a comparison alike).

``by_fusion_kind`` gives the fusion emitter's time per kind of fusion (its module name
without the numeric suffix, e.g. ``pad_reduce_fusion``): how many, and their milliseconds,
largest first (the 12 costliest; ``other kinds`` sums the rest). Where one program
compiles slower than another with about as many kernels, the kinds say which kernels cost
more. ``bench/peers.py --compile-phases`` puts purerl's program and the peer's side by
side.

The event names are XLA's internal trace annotations (jaxlib 0.10); a phase whose events
a later XLA renames comes out 0, and ``missing`` names them.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import jax

# phase -> the trace events (exact names, or name prefixes ending in " (") summed into it
EVENTS = {
    "backend": ("CpuCompiler::RunBackend",),
    "hlo_passes": (
        "HLO passes through layout assignment (",
        "HLO passes after layout assignment (",
    ),
    "thunk_emission": ("ThunkEmitter::EmitEntryComputation", "ThunkEmitter::ConsumeKernels"),
    "fusion_emitter": ("FusionCompiler::Compile",),
    "llvm_codegen": ("JitCompiler::Compile",),
}
KERNEL_TASK = "TaskDispatcher::dispatch"
KINDS_KEPT = 12  # the costliest kinds of fusion named in ``by_fusion_kind``; the rest summed
_SUFFIX = re.compile(r"(\.\d+)?(_kernel_module)?$")


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern) if pattern.endswith(" (") else name == pattern


def fusion_kind(module: str) -> str:
    """``pad_reduce_fusion.21_kernel_module`` → ``pad_reduce_fusion``."""
    return _SUFFIX.sub("", module)


def costliest_kinds(kinds: dict[str, dict], keep: int = KINDS_KEPT) -> dict[str, dict]:
    """``kinds`` (``{kind: {"count", "ms"}}``) largest first, the ``keep`` costliest by name
    and the rest summed as ``"other kinds"``."""
    ranked = sorted(kinds.items(), key=lambda kv: -kv[1]["ms"])
    out = dict(ranked[:keep])
    rest = [v for _, v in ranked[keep:]]
    if rest:
        out["other kinds"] = {"count": sum(v["count"] for v in rest),
                              "ms": round(sum(v["ms"] for v in rest), 1)}  # fmt: skip
    return out


def phases_of_trace(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The phases (seconds), counts and fusion kinds of a trace's complete ("X") events."""
    spans = [e for e in events if e.get("ph") == "X"]
    out: dict[str, Any] = {}
    missing = []
    for phase, patterns in EVENTS.items():
        found = [e["dur"] for e in spans if any(_matches(e["name"], p) for p in patterns)]
        out[phase] = round(sum(found) / 1e6, 3)
        if not found:
            missing.append(phase)
    fusions = [e for e in spans if e["name"] == "FusionCompiler::Compile"]
    out["fusions"] = len(fusions)
    out["kernels"] = sum(e["name"] == KERNEL_TASK for e in spans)
    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for e in fusions:
        kind = kinds[fusion_kind(e.get("args", {}).get("module", "?"))]
        kind[0] += 1
        kind[1] += e["dur"] / 1e3
    out["by_fusion_kind"] = costliest_kinds(
        {k: {"count": n, "ms": round(ms, 1)} for k, (n, ms) in kinds.items()}
    )
    out["missing"] = missing
    return out


def compile_with_phases(lowered: Any) -> tuple[Any, dict[str, Any]]:
    """``(lowered.compile(), its phases)``: the compile runs under ``jax.profiler.trace``."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with jax.profiler.trace(folder, create_perfetto_trace=True):
            compiled = lowered.compile()
        total = time.perf_counter() - start
        traces = sorted(Path(folder).rglob("perfetto_trace.json.gz"))
        if not traces:
            raise RuntimeError(f"jax.profiler wrote no perfetto trace under {folder}")
        with gzip.open(traces[-1]) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    return compiled, {"total": round(total, 3), **phases_of_trace(events)}
