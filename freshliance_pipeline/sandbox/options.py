"""Command-line spellings of the sandbox's switches, for ``freshliance-pipeline sandbox``.

``--quirk NAME`` turns on one wire quirk (``QUIRK_FLAGS``), ``--fault KIND:RATE[:BURST]`` adds a
fault rule, ``--flow-limit RPS[:BURST]`` sets the per-app token bucket. Everything here can also
be changed while the sandbox runs, through its admin endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from freshliance_pipeline.sandbox.faults import FaultPlan, FaultRule, FlowLimit, fault_kind
from freshliance_pipeline.sandbox.quirks import WireQuirks

QUIRK_FLAGS: dict[str, dict[str, Any]] = {
    "data-as-string": {"data_as_string": True},
    "code-as-number": {"code_as_number": True},
    "longs-as-strings": {"longs_as_strings": True},
    "rows-reversed": {"row_order": "reversed"},
    "rows-scrambled": {"row_order": "scrambled"},
    "sign-responses": {"sign_responses": True},
}


def quirks_from_flags(names: Iterable[str]) -> WireQuirks:
    quirks = WireQuirks()
    for name in names:
        if name not in QUIRK_FLAGS:
            raise ValueError(f"unknown quirk {name!r}; known: {', '.join(QUIRK_FLAGS)}")
        quirks = quirks.updated(QUIRK_FLAGS[name])
    return quirks


def fault_plan_from_specs(specs: Iterable[str], seed: int = 0) -> FaultPlan:
    """``["http-503:0.05:3", "reset:0.01"]`` as a plan of rules."""
    rules = []
    for spec in specs:
        parts = spec.split(":")
        if not 2 <= len(parts) <= 3:
            raise ValueError(f"a fault is KIND:RATE[:BURST], got {spec!r}")
        try:
            rate, burst = float(parts[1]), int(parts[2]) if len(parts) == 3 else 1
        except ValueError:
            raise ValueError(f"a fault is KIND:RATE[:BURST] with numbers, got {spec!r}") from None
        rules.append(FaultRule(fault_kind(parts[0]), rate, burst))
    return FaultPlan(rules=tuple(rules), seed=seed)


def flow_limit_from_spec(spec: str) -> FlowLimit:
    """``"5"`` or ``"5:10"`` (requests per second, burst)."""
    parts = spec.split(":")
    try:
        rps = float(parts[0])
        burst = int(parts[1]) if len(parts) == 2 else max(1, int(rps))
    except (ValueError, IndexError):
        raise ValueError(f"a flow limit is RPS[:BURST], got {spec!r}") from None
    if len(parts) > 2:
        raise ValueError(f"a flow limit is RPS[:BURST], got {spec!r}")
    return FlowLimit(rps, burst)
