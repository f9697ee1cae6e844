"""The sync against a gateway that uploads late, reorders rows, grows totals while we page,
and limits the request rate: every reading once, at the calls the data needs."""

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from freshliance_pipeline import definitions
from freshliance_pipeline.api.client import FreshlianceClient, RetryPolicy
from freshliance_pipeline.api.errors import HTTPStatusError
from freshliance_pipeline.assets import readings as readings_asset
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import partition_values, read_partition
from freshliance_pipeline.resources import LakeResource
from freshliance_pipeline.runner import run_sync
from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig
from freshliance_pipeline.sandbox.faults import FaultPlan, FaultRule, FlowLimit
from freshliance_pipeline.sandbox.quirks import WireQuirks
from freshliance_pipeline.schedules import range_tags
from freshliance_pipeline.sync.readings import SyncSettings, sync_readings
from freshliance_pipeline_tests.conftest import Gateway, point_pipeline_at, start_gateway
from freshliance_pipeline_tests.truth import day_ms, expected_rows, warehouse_rows

DATA = "tracker.tripData.pageProbeData"
DAY = 86_400_000


@pytest.fixture
def point_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    started: list[Gateway] = []

    def use(gateway: Gateway, **env: str) -> Path:
        started.append(gateway)
        return point_pipeline_at(monkeypatch, gateway, tmp_path / "data", **env)

    yield use
    for gateway in started:
        gateway.server.stop()


def truth(fleet: Fleet, start: date, end: date) -> list[tuple[Any, ...]]:
    return expected_rows(fleet, start, end)


def per_window(rows: list[tuple[Any, ...]]) -> Counter[tuple[int, int]]:
    return Counter((row[0], row[2]) for row in rows)


def a_long_spell(fleet: Fleet) -> tuple[int, int, int]:
    """(trip id, spell start, spell end) of an offline spell of three days or more, past."""
    for trip in fleet.trips:
        for spell in trip.offline:
            if spell.end_ms - spell.start_ms >= 3 * DAY and spell.end_ms < fleet.anchor_ms - DAY:
                return trip.trip_id, spell.start_ms, spell.end_ms
    raise AssertionError("no fleet trip has a long offline spell; pick another seed")


def test_late_uploads_land_on_the_next_runs_and_unchanged_windows_cost_one_probe(
    point_at: Any,
) -> None:
    probe = Fleet(FleetConfig(seed=11, devices=30, days=14))
    trip_id, spell_start, spell_end = a_long_spell(probe)
    clock = Clock(spell_start + (spell_end - spell_start) // 2)
    fleet = Fleet(probe.config, clock=clock)
    gateway = start_gateway(fleet)
    # Nothing settles in this test: the sandbox's clock is behind the machine's.
    data_dir = point_at(gateway, FRESHLIANCE_SETTLE_HOURS="100000")
    first_day = datetime.fromtimestamp(spell_start / 1000, tz=UTC).date() - timedelta(days=1)
    last_day = datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC).date()
    instance = dg.DagsterInstance.ephemeral()

    assert run_sync(first_day, last_day, instance=instance).success
    before = truth(fleet, first_day, last_day)
    assert warehouse_rows(data_dir / "analytics.duckdb") == before

    clock.set(spell_end + DAY)  # the device is back online and has uploaded everything
    gateway.server.counts.reset()
    assert run_sync(first_day, last_day, instance=instance).success

    after = truth(fleet, first_day, last_day)
    late = per_window(after) - per_window(before)
    assert late[(trip_id, 0)] > 0, "the spell held readings back"
    assert warehouse_rows(data_dir / "analytics.duckdb") == after
    windows = sum(
        len(t.probes)
        for t in fleet.trips
        if t.actual_begin_ms is not None
        and t.actual_begin_ms < day_ms(last_day + timedelta(days=1))
        and (t.actual_end_ms or clock.now_ms()) >= day_ms(first_day)
    )
    budget = windows + sum(math.ceil(n / 50) for n in late.values())
    assert gateway.server.counts[DATA] <= budget


def test_rows_out_of_order_and_totals_growing_while_paging_lose_and_double_nothing(
    point_at: Any,
) -> None:
    base = Fleet(FleetConfig(seed=9, devices=10, days=6))
    clock = Clock(base.anchor_ms - DAY // 2)  # midday: open trips keep uploading
    fleet = Fleet(base.config, clock=clock)
    # Every request moves the clock a minute: readings arrive while the sync pages.
    gateway = start_gateway(fleet, quirks=WireQuirks(row_order="scrambled", clock_tick_ms=60_000))
    data_dir = point_at(gateway)
    last_day = datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC).date()
    first_day = last_day - timedelta(days=1)
    visible_before = set(truth(fleet, first_day, last_day))

    assert run_sync(first_day, last_day, instance=dg.DagsterInstance.ephemeral()).success

    stored = warehouse_rows(data_dir / "analytics.duckdb")
    visible_after = set(truth(fleet, first_day, last_day))
    assert len(stored) == len(set(stored)), "no reading twice"
    assert visible_before <= set(stored), "nothing visible before the run is missing"
    assert set(stored) <= visible_after, "nothing that does not exist"


def test_under_a_flow_limit_the_sync_finishes_near_the_limit_rate(point_at: Any) -> None:
    fleet = Fleet(FleetConfig(seed=4, devices=6, days=4))
    gateway = start_gateway(fleet, flow_limit=FlowLimit(rps=5.0, burst=10))
    point_at(gateway, FRESHLIANCE_MAX_RPS="10")
    anchor = datetime.fromtimestamp(fleet.anchor_ms / 1000, tz=UTC).date()
    start, end = anchor - timedelta(days=3), anchor - timedelta(days=1)
    instance = dg.DagsterInstance.ephemeral()
    resources = definitions.build_resources()
    extract = dg.materialize(definitions.EXTRACT_ASSETS, resources=resources, instance=instance)
    assert extract.success
    counts = gateway.server.counts
    counts.reset()

    readings = dg.materialize(
        [readings_asset.freshliance_readings],
        resources=resources,
        instance=instance,
        tags=range_tags(start.isoformat(), end.isoformat()),
    )

    assert readings.success
    served = counts.total - counts.throttled
    assert counts.throttled > 0, "the limit was reached"
    assert served > 60
    rate = served / readings_step_seconds(instance, readings.run_id)
    assert 4.5 <= rate <= 5.5, f"{rate:.2f} requests/s against a limit of 5"
    lake = resources["lake"]
    assert isinstance(lake, LakeResource)
    stored = sum(table.num_rows for table in read_all_readings(lake.lake_dir))
    assert stored == len(truth(fleet, start, end))


def read_all_readings(lake_dir: Path) -> list[Any]:
    return [
        table
        for day in partition_values(lake_dir, schemas.READINGS)
        if (table := read_partition(lake_dir, schemas.READINGS, day)) is not None
    ]


def readings_step_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    times = {
        record.dagster_event.event_type_value: record.timestamp
        for record in instance.all_logs(run_id)
        if record.dagster_event is not None
        and record.step_key == "freshliance_readings"
        and record.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")
    }
    return times["STEP_SUCCESS"] - times["STEP_START"]


def test_a_fetch_that_gives_up_stops_the_other_fetches(tmp_path: Path) -> None:
    """Once one window's retries are spent the run fails; devices not reached yet are not
    tried, so a failing run costs the fetches in flight, not every device's retries."""
    fleet = Fleet(FleetConfig(seed=11, devices=12, days=5))
    failing = FaultPlan(rules=(FaultRule("http-503", rate=1.0, methods=(DATA,)),))
    gateway = start_gateway(fleet, faults=failing)
    anchor = datetime.fromtimestamp(fleet.anchor_ms / 1000, tz=UTC)
    trips = fleet.trip_rows()
    retry = RetryPolicy(attempts=3, initial_wait_s=0.0, max_wait_s=0.0)
    try:
        with (
            FreshlianceClient(
                app_id=gateway.app_id,
                private_key=gateway.key,
                base_url=gateway.url,
                retry=retry,
                max_rps=0,
            ) as client,
            pytest.raises(HTTPStatusError, match="503"),
        ):
            sync_readings(
                client,
                tmp_path / "lake",
                trips,
                anchor - timedelta(days=3),
                anchor,
                anchor,
                SyncSettings(concurrency=4),
            )
        served = gateway.server.counts[DATA]
    finally:
        gateway.server.stop()

    devices_with_trips = len({t["deviceCode"] for t in trips})
    assert devices_with_trips > 4
    assert 3 <= served <= 4 * 3  # at most the four fetches in flight, three attempts each
    assert not (tmp_path / "lake" / "readings").exists()  # nothing half-written
