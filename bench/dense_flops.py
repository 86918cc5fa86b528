"""The floating-point operations of a compiled program's dense products (``dot``), counted
from its optimized HLO text, loops included.

For a ``dot`` with output shape S and left operand L contracted over dimensions C, the
count is 2 · ∏S · ∏_{c∈C} L_c (one multiply and one add per term; batch dimensions are in
S). A ``while`` loop counts its body ``n`` times, where XLA has proved the trip count
``n`` (``backend_config={"known_trip_count":{"n":...}}``, as for every ``lax.scan`` and
``fori_loop`` with static bounds); a loop without one counts once and makes the total a
lower bound (``exact`` False). A fusion or call counts what it calls; a conditional its
costliest branch. XLA's own ``cost_analysis()`` counts a loop body once, whatever its trip
count, which is why this exists.

Used by ``bench/peers.py``: both programs of a row do the same products if they implement
the same algorithm, and dense FLOPs over run time, set against the rate of the network's
widest product alone, says how much of the run the products can explain.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

_HEADER = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) \((.*)\) -> .* \{$")
_PARAM = re.compile(r"([\w.\-]+): \w+\[([\d,]*)\]")
_INSTR = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (?:\w+\[([\d,]*)\]\S*|\(.*?\)) ([\w\-]+)\((.*)$")
_OPERAND = re.compile(r"%([\w.\-]+)")
_CALLED = re.compile(r"(?:calls|body|to_apply)=%([\w.\-]+)")
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")
_TRIPS = re.compile(r'"known_trip_count":\{"n":"(\d+)"\}')
_CONTRACTING = re.compile(r"lhs_contracting_dims=\{([\d,]*)\}")


class DenseFlops(NamedTuple):
    flops: float
    exact: bool  # False: some loop had no known trip count and was counted once


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in text.split(",") if d)


def _computations(hlo: str) -> tuple[dict[str, list[str]], str]:
    """Each computation's lines by name, and the entry computation's name."""
    comps: dict[str, list[str]] = {}
    entry, current = "", None
    for line in hlo.splitlines():
        header = _HEADER.match(line)
        if header:
            current = header.group(1)
            comps[current] = [line]
            if line.startswith("ENTRY"):
                entry = current
        elif current is not None:
            comps[current].append(line)
            if line.strip() == "}":
                current = None
    if not entry:
        raise ValueError("no ENTRY computation in this HLO text")
    return comps, entry


def dense_flops(hlo: str) -> DenseFlops:
    """FLOPs of the products of the program whose optimized HLO is ``hlo``
    (``jax.jit(f).lower(...).compile().as_text()``)."""
    comps, entry = _computations(hlo)
    memo: dict[str, DenseFlops] = {}

    def count(name: str) -> DenseFlops:
        if name in memo:
            return memo[name]
        lines = comps[name]
        shapes = {p: _dims(d) for p, d in _PARAM.findall(_HEADER.match(lines[0]).group(2))}
        flops, exact = 0.0, True
        for line in lines[1:]:
            m = _INSTR.match(line)
            if not m:
                continue
            out, shape, opcode, rest = m.group(1), m.group(2), m.group(3), m.group(4)
            if shape is not None:
                shapes[out] = _dims(shape)
            if opcode == "dot":
                lhs = _OPERAND.search(rest).group(1)
                contracted = _dims(_CONTRACTING.search(rest).group(1))
                terms = math.prod(shapes[lhs][c] for c in contracted)
                flops += 2.0 * math.prod(shapes[out]) * terms
            elif opcode in ("while", "fusion", "call"):
                inner = count(_CALLED.search(rest).group(1))
                trips = _TRIPS.search(rest) if opcode == "while" else None
                n = int(trips.group(1)) if trips else 1
                flops += n * inner.flops
                exact = exact and inner.exact and (opcode != "while" or trips is not None)
            elif opcode == "conditional":
                branches = [count(b) for b in _OPERAND.findall(_BRANCHES.search(rest).group(1))]
                flops += max(b.flops for b in branches)
                exact = exact and all(b.exact for b in branches)
        memo[name] = DenseFlops(flops, exact)
        return memo[name]

    return count(entry)
