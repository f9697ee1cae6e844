"""Call budgets of the sync, measured by the sandbox's request counters."""

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from freshliance_pipeline.runner import run_sync
from freshliance_pipeline.sandbox import FleetConfig
from freshliance_pipeline_tests.conftest import Gateway, point_pipeline_at, served
from freshliance_pipeline_tests.truth import anchor_day, day_ms, expected_rows, warehouse_rows

DATA = "tracker.tripData.pageProbeData"
DAY_MS = 86_400_000
LISTINGS = ("tracker.userDevice.page", "tracker.deviceTrip.page")


@pytest.fixture(scope="module")
def fleet50() -> Iterator[Gateway]:
    with served(FleetConfig(seed=23, devices=50, days=30)) as gw:
        yield gw


@pytest.fixture
def env50(fleet50: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return point_pipeline_at(monkeypatch, fleet50, tmp_path / "data")


def ideal_calls(gw: Gateway, start: date, end: date) -> int:
    """Sum over (trip, probe) windows of ceil(rows / 50): the fewest data calls possible."""
    truth = gw.fleet.ground_truth(day_ms(start), day_ms(end + timedelta(days=1)) - 1)
    per_window = Counter((r["userDeviceTripId"], r["probeType"]) for r in truth)
    return sum(math.ceil(n / 50) for n in per_window.values())


def test_a_30_day_backfill_costs_at_most_2_percent_over_the_ideal(
    fleet50: Gateway, env50: Path
) -> None:
    end = anchor_day(fleet50.fleet) - timedelta(days=1)
    start = end - timedelta(days=29)
    fleet50.server.counts.reset()

    outcome = run_sync(start, end, instance=dg.DagsterInstance.ephemeral())

    assert outcome.success, outcome.errors
    ideal = ideal_calls(fleet50, start, end)
    spent = fleet50.server.counts[DATA]
    assert ideal > 1000
    assert spent <= 1.02 * ideal, f"{spent} data calls for an ideal of {ideal}"
    assert warehouse_rows(env50 / "analytics.duckdb") == expected_rows(fleet50.fleet, start, end)


def test_an_idle_rerun_costs_listings_and_one_probe_per_open_window(
    fleet50: Gateway, env50: Path
) -> None:
    end = anchor_day(fleet50.fleet) - timedelta(days=1)
    start = end - timedelta(days=6)
    instance = dg.DagsterInstance.ephemeral()
    assert run_sync(start, end, instance=instance).success
    lake = env50 / "lake" / "readings"
    stamps = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    fleet50.server.counts.reset()

    assert run_sync(start, end, instance=instance).success

    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    clock = fleet50.fleet.clock.now_ms()
    range_start, range_end = day_ms(start), day_ms(end + timedelta(days=1))
    open_windows = 0
    for trip in fleet50.fleet.trips:
        if trip.actual_begin_ms is None or trip.actual_begin_ms > clock:
            continue  # not started: no readings
        ended = trip.status(clock) == "end"
        if ended and trip.actual_end_ms is not None and trip.actual_end_ms + DAY_MS <= now_ms:
            continue  # settled after the first run: no call
        trip_end = trip.actual_end_ms if ended and trip.actual_end_ms else clock
        if trip.actual_begin_ms < range_end and trip_end >= range_start:
            open_windows += len(trip.probes)
    counts = fleet50.server.counts
    assert counts[DATA] <= open_windows
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == stamps
    assert set(m for m in LISTINGS if counts[m]) <= set(LISTINGS)
