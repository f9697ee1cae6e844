"""``make faults``: every fault case alone, on a larger fleet, and a table of what came of it.

Usage: ``python -m freshliance_pipeline_tests.faults [--devices N] [--days D] [--workers W]
[--case NAME ...]``. Cases run on ``W`` processes, each with its own sandbox of the same seed;
the exit status is 1 when any case did not end with exactly the ground truth.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from freshliance_pipeline_tests.faults import cases
from freshliance_pipeline_tests.faults.cases import (
    Case,
    Sandbox,
    Verdict,
    all_cases,
    run_case,
    start_sandbox,
)
from freshliance_pipeline_tests.truth import anchor_day

_SANDBOX: Sandbox | None = None
_SYNC_DAYS = 0


@dataclass(frozen=True)
class Timed:
    verdict: Verdict
    seconds: float


def _start_worker(devices: int, days: int, sync_days: int) -> None:
    global _SANDBOX, _SYNC_DAYS
    # The table is the output; the runs' own logs would bury it.
    logging.disable(logging.WARNING)
    cases.LOG_LEVEL["level"] = "CRITICAL"
    warnings.simplefilter("ignore")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    _SANDBOX = start_sandbox(devices=devices, days=days)
    _SYNC_DAYS = sync_days


def _run(case: Case) -> Timed:
    assert _SANDBOX is not None
    anchor = anchor_day(_SANDBOX.fleet)
    start, end = anchor - timedelta(days=_SYNC_DAYS), anchor - timedelta(days=1)
    if case.quirks.clock_tick_ms:
        end = anchor
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        verdict = run_case(_SANDBOX, case, Path(tmp) / "data", start, end)
    return Timed(verdict, time.monotonic() - began)


def table(results: list[Timed]) -> str:
    header = ("case", "faults injected", "retries", "outcome", "rows", "exact", "s")
    lines = [
        (
            t.verdict.case,
            ", ".join(f"{k} {n}" for k, n in sorted(t.verdict.faults.items())) or "-",
            str(t.verdict.retries),
            t.verdict.outcome,
            str(t.verdict.rows),
            "yes" if t.verdict.exact and not t.verdict.problems else "NO",
            f"{t.seconds:.0f}",
        )
        for t in results
    ]
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]

    def render(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(header), rule, *map(render, lines)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m freshliance_pipeline_tests.faults")
    parser.add_argument("--devices", type=int, default=12)
    parser.add_argument("--days", type=int, default=5, help="days of sandbox history")
    parser.add_argument("--sync-days", type=int, default=3, help="days each case syncs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--case", action="append", default=[], help="only these (repeatable)")
    args = parser.parse_args(argv)
    chosen = [c for c in all_cases() if not args.case or c.name in args.case]
    began = time.monotonic()
    with ProcessPoolExecutor(
        max_workers=args.workers,
        initializer=_start_worker,
        initargs=(args.devices, args.days, args.sync_days),
    ) as pool:
        results = list(pool.map(_run, chosen))
    out = sys.stdout
    out.write(
        f"fault suite: {len(chosen)} cases, {args.devices} devices, {args.sync_days} days synced, "
        f"{time.monotonic() - began:.0f} s\n\n"
    )
    out.write(table(results))
    bad = [t.verdict for t in results if t.verdict.problems or not t.verdict.exact]
    for verdict in bad:
        out.write(f"\n{verdict.case}:\n" + "".join(f"  - {p}\n" for p in verdict.problems))
    for t in results:
        if t.verdict.first_error and not t.verdict.problems:
            out.write(f"\n{t.verdict.case}, the failure as reported: {t.verdict.first_error}\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
