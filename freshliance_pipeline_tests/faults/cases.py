"""Fault scenarios and the one runner both the tests and ``make faults`` use.

Each case switches faults or wire quirks on in one shared sandbox, syncs a few days into a data
folder of its own and compares what landed with the ground truth. The expectation is either
``exact`` (the run succeeds and holds exactly the truth) or ``recovers`` (the run fails with a
message naming the failure, and the next run, faults off, holds exactly the truth).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import dagster as dg

from freshliance_pipeline.api import signing
from freshliance_pipeline.runner import SyncOutcome, run_sync
from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer
from freshliance_pipeline.sandbox.faults import FaultKind, FaultPlan, FaultRule
from freshliance_pipeline.sandbox.quirks import WireQuirks
from freshliance_pipeline_tests.conftest import Gateway, start_gateway
from freshliance_pipeline_tests.truth import (
    expected_rows,
    lake_rows,
    lake_truth,
    warehouse_rows,
)

DATA = "tracker.tripData.pageProbeData"
HOUR_MS = 3_600_000
# exact: the run succeeds with exactly the truth; recovers: it fails (the faults outlast the
# retries) and the next run, faults off, lands the truth; either: one of the two, the issue's
# acceptance for random faults (a call can meet more faulted attempts in a row than it retries).
Expect = Literal["exact", "recovers", "either"]
# The console log level of the runs; ``make faults`` quiets it so the table stands out.
LOG_LEVEL = {"level": "WARNING"}
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Case:
    """One scenario: what the sandbox does wrong, and what the sync must make of it."""

    name: str
    faults: FaultPlan = field(default_factory=FaultPlan)
    quirks: WireQuirks = field(default_factory=WireQuirks)
    expect: Expect = "either"
    # A read timeout shorter than the sandbox's slow-body pause (seconds); None: the default.
    read_timeout_s: float | None = None
    # Late uploads: after a first, clean run the sandbox clock moves on this much and the
    # readings held back by offline spells arrive; the second run must pick them up.
    late_after_ms: int = 0
    # A phrase the failure message must contain (``recovers`` cases).
    failure_says: str = ""
    # Whether the faults must have cost retries (a slow body below the timeout costs none).
    retried: bool = True
    # Attempts per call (FRESHLIANCE_RETRY_ATTEMPTS); None: the default, about a minute.
    retry_attempts: int | None = None


def rules(kind: FaultKind, rate: float, burst: int = 1, *, data_only: bool = False) -> FaultPlan:
    methods = (DATA,) if data_only else ()
    return FaultPlan(rules=(FaultRule(kind, rate=rate, burst=burst, methods=methods),), seed=3)


def plan(*rules: FaultRule, pause_ms: int = 5_000, seed: int = 3) -> FaultPlan:
    return FaultPlan(rules=rules, slow_body_pause_ms=pause_ms, seed=seed)


def suite_cases() -> tuple[Case, ...]:
    """The cases ``make test`` runs: one sync each, so kinds that need no run of their own
    share one (every kind still runs alone in ``all_cases``)."""
    return (
        Case(
            "codes 10000+60000+99999",
            plan(
                FaultRule("code-10000", 0.04, 3),
                FaultRule("code-60000", 0.04, 3),
                FaultRule("code-99999", 0.04, 2),
            ),
        ),
        Case(
            "http 5xx + reset",
            plan(
                FaultRule("http-500", 0.03, 2),
                FaultRule("http-502", 0.03),
                FaultRule("http-503", 0.03, 2),
                FaultRule("reset", 0.05, 2),
                seed=5,
            ),
        ),
        Case(
            "truncated + not-json + read timeout",
            plan(
                FaultRule("truncated", 0.05, 2),
                FaultRule("not-json", 0.05, 2),
                FaultRule("slow-body", 0.04),
                pause_ms=1_500,
            ),
            read_timeout_s=0.5,
        ),
        Case("total grows while paging", quirks=WireQuirks(clock_tick_ms=180_000)),
        Case(
            "late uploads + data as text + rows scrambled",
            quirks=WireQuirks(data_as_string=True, row_order="scrambled"),
            late_after_ms=21 * HOUR_MS,
        ),
        Case(
            "retries exhausted",
            rules("http-503", 1.0, data_only=True),
            expect="recovers",
            failure_says="503",
            retried=False,
            # Three attempts spend seconds; the default minute of retries is make faults' own.
            retry_attempts=3,
        ),
    )


def all_cases() -> tuple[Case, ...]:
    """Every case, in the order the table lists them."""
    return (
        Case("burst code-10000", rules("code-10000", 0.1, 3)),
        Case("burst code-60000", rules("code-60000", 0.1, 3)),
        Case("burst code-99999", rules("code-99999", 0.1, 3)),
        Case(
            "http 5xx",
            FaultPlan(
                rules=(
                    FaultRule("http-500", rate=0.05, burst=2),
                    FaultRule("http-502", rate=0.05),
                    FaultRule("http-503", rate=0.05, burst=2),
                ),
                seed=5,
            ),
        ),
        Case("connection reset", rules("reset", 0.1, 2)),
        Case("slow body", plan(FaultRule("slow-body", 0.1), pause_ms=200), retried=False),
        Case(
            "read timeout",
            FaultPlan(rules=(FaultRule("slow-body", 0.05),), slow_body_pause_ms=1_500, seed=7),
            read_timeout_s=0.5,
        ),
        Case("truncated body", rules("truncated", 0.1, 2)),
        Case("not-json body", rules("not-json", 0.1, 2)),
        Case("data as text", quirks=WireQuirks(data_as_string=True)),
        Case("total grows while paging", quirks=WireQuirks(clock_tick_ms=180_000)),
        Case("rows reversed", quirks=WireQuirks(row_order="reversed")),
        Case("rows scrambled", quirks=WireQuirks(row_order="scrambled")),
        Case("late uploads", late_after_ms=21 * HOUR_MS),
        Case(
            "retries exhausted",
            rules("http-503", 1.0, data_only=True),
            expect="recovers",
            failure_says="503",
            retried=False,
        ),
    )


@dataclass
class Sandbox:
    """The shared gateway, its clock (frozen; cases that tick it or move it own the change)."""

    gateway: Gateway
    clock: Clock

    @property
    def server(self) -> SandboxServer:
        return self.gateway.server

    @property
    def fleet(self) -> Fleet:
        return self.gateway.fleet

    def switch(self, faults: FaultPlan, quirks: WireQuirks) -> None:
        self.server.gateway.faults = faults
        self.server.gateway.quirks = quirks
        self.server.counts.reset()

    def stop(self) -> None:
        self.server.stop()


def start_sandbox(devices: int, days: int, seed: int = 11) -> Sandbox:
    config = FleetConfig(seed=seed, devices=devices, days=days)
    clock = Clock(Fleet(config).anchor_ms)
    return Sandbox(start_gateway(Fleet(config, clock=clock), app_id="faults-app"), clock)


def pipeline_environ(gateway: Gateway, data_dir: Path) -> dict[str, str]:
    return {
        "FRESHLIANCE_API_URL": gateway.url,
        "FRESHLIANCE_APP_ID": gateway.app_id,
        "FRESHLIANCE_PRIVATE_KEY": signing.private_key_pem(gateway.key),
        "FRESHLIANCE_DATA_DIR": str(data_dir),
        "FRESHLIANCE_MAX_RPS": "0",
        # The sandbox clock is not the machine's: never let a window count as settled.
        "FRESHLIANCE_SETTLE_HOURS": "100000",
    }


@contextmanager
def environ(values: Mapping[str, str], drop: tuple[str, ...] = ()) -> Iterator[None]:
    """``os.environ`` with ``values`` set and ``drop`` unset, restored afterwards."""
    names = (*values, *drop)
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in drop:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def sync(
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    case: Case | None = None,
    *,
    lake_only: bool = False,
) -> SyncOutcome:
    """The main job through ``run_sync``, with the case's read timeout and retry attempts;
    ``lake_only``: without the dbt step (a first run whose lake alone is checked)."""
    settings = {
        "FRESHLIANCE_READ_TIMEOUT_S": case and case.read_timeout_s,
        "FRESHLIANCE_RETRY_ATTEMPTS": case and case.retry_attempts,
    }
    values = {name: str(value) for name, value in settings.items() if value is not None}
    with environ(values):
        return run_sync(start, end, instance, LOG_LEVEL["level"], warehouse=not lake_only)


def run_retries(instance: dg.DagsterInstance, run_id: str) -> int:
    """Retries the client made in one run, from its materializations' metadata (a failed
    step materializes nothing, so its retries are not in this count)."""
    total = 0
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.is_step_materialization:
            continue
        value = event.step_materialization_data.materialization.metadata.get("api_retries")
        if value is not None and isinstance(value.value, int):
            total += value.value
    return total


def truth_rows(fleet: Fleet, start: date, end: date) -> list[Row]:
    return lake_truth(fleet, start, end)


@dataclass
class Verdict:
    """What one case came to: the table's row, and the reasons it is not exact (if any)."""

    case: str
    faults: dict[str, int]
    retries: int
    outcome: str
    rows: int
    exact: bool
    problems: list[str]
    first_error: str = ""


def lake_problems(
    fleet: Fleet, data_dir: Path, start: date, end: date, *, partial: bool = False
) -> list[str]:
    """How the lake's readings differ from the truth (``partial``: a subset is fine)."""
    problems: list[str] = []
    truth = set(truth_rows(fleet, start, end))
    lake = lake_rows(data_dir / "lake")
    doubled = [key for key, n in Counter((r[0], r[2], r[3]) for r in lake).items() if n > 1]
    if doubled:
        problems.append(f"lake: {len(doubled)} (trip, probe, ts) twice, e.g. {doubled[0]}")
    missing, extra = len(truth - set(lake)), len(set(lake) - truth)
    if extra or (missing and not partial):
        problems.append(f"lake: {missing} truth rows missing, {extra} rows not in the truth")
    return problems


def compare(fleet: Fleet, data_dir: Path, start: date, end: date) -> tuple[int, list[str]]:
    """Rows in the warehouse, and every way the lake or fct_readings differs from the truth."""
    truth = truth_rows(fleet, start, end)
    problems = lake_problems(fleet, data_dir, start, end)
    stored = warehouse_rows(data_dir / "analytics.duckdb")
    if stored != expected_rows(fleet, start, end):
        problems.append(f"fct_readings: {len(stored)} rows, the truth has {len(truth)}")
    return len(stored), problems


def run_case(sandbox: Sandbox, case: Case, data_dir: Path, start: date, end: date) -> Verdict:
    """Run one case: faults on, sync, (faults off, sync again when it must), compare. The
    sandbox's clock is put back afterwards, so cases do not depend on their order."""
    now_ms = sandbox.clock.now_ms()
    try:
        return _run_case(sandbox, case, data_dir, start, end)
    finally:
        sandbox.switch(FaultPlan(), WireQuirks())
        sandbox.clock.set(now_ms)


def _run_case(sandbox: Sandbox, case: Case, data_dir: Path, start: date, end: date) -> Verdict:
    env = pipeline_environ(sandbox.gateway, data_dir)
    instance = dg.DagsterInstance.ephemeral()
    problems: list[str] = []
    with environ(env, drop=("FRESHLIANCE_PRIVATE_KEY_FILE", "DAGSTER_HOME")):
        if case.late_after_ms:
            sandbox.switch(FaultPlan(), WireQuirks())
            first = sync(start, end, instance, lake_only=True)
            if not first.success:
                problems.append(f"the run before the late uploads failed: {first.errors}")
            before = len(truth_rows(sandbox.fleet, start, end))
            sandbox.clock.advance(case.late_after_ms)
            if len(truth_rows(sandbox.fleet, start, end)) <= before:
                problems.append("no late upload arrived in the synced days; move the clock more")
        sandbox.switch(case.faults, case.quirks)
        ticked = case.quirks.clock_tick_ms > 0
        visible_before = len(truth_rows(sandbox.fleet, start, end))
        outcome = sync(start, end, instance, case, lake_only=ticked)
        faults = sandbox.server.counts.faults()
        retries = run_retries(instance, outcome.run_id)
        sandbox.switch(FaultPlan(), WireQuirks())
        first_error = "; ".join(f"{step}: {text}" for step, text in outcome.errors.items())
        if outcome.success:
            label = "succeeded"
            if case.expect == "recovers":
                problems.append("the run succeeded although every data call failed")
            if ticked:
                # Readings arrived while the run paged: its lake may not double any, nor hold
                # one that does not exist; a second run, clock still, must fill them in.
                problems += lake_problems(sandbox.fleet, data_dir, start, end, partial=True)
                if len(truth_rows(sandbox.fleet, start, end)) <= visible_before:
                    problems.append("no reading arrived while the run paged; tick faster")
                again = sync(start, end, instance)
                label = "succeeded; rerun " + ("succeeded" if again.success else "failed")
                if not again.success:
                    problems.append(f"the rerun failed: {again.errors}")
        else:
            label = "failed; rerun "
            if case.expect == "exact" or not case.faults.rules:
                problems.append(f"the run failed: {first_error}")
            # A clear message names the API call that failed, and what it met.
            says = case.failure_says or "tracker."
            if says not in first_error:
                problems.append(f"the failure does not say {says!r}: {first_error}")
            again = sync(start, end, instance)
            label += "succeeded" if again.success else "failed"
            if not again.success:
                problems.append(f"the rerun with faults off failed: {again.errors}")
        rows, found = compare(sandbox.fleet, data_dir, start, end)
    problems += found
    return Verdict(
        case=case.name,
        faults=faults,
        retries=retries,
        outcome=label,
        rows=rows,
        exact=not found,
        problems=problems,
        first_error=first_error,
    )
