"""Rows the gateway sends that cannot be trusted: kept with their reasons, never dropped, never
doubled, and no cause for re-fetching.

The sandbox world here plants one bad row of every kind (``FleetConfig(bad_rows=True)``) and
knows each one; the expected lake, rejects and warehouse are derived from that knowledge and the
world's ground truth, not from the pipeline's own screen.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest

from freshliance_pipeline.api.client import FreshlianceClient, RetryPolicy
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import partition_values, read_partition
from freshliance_pipeline.runner import run_sync
from freshliance_pipeline.sandbox import Fleet, FleetConfig
from freshliance_pipeline.sandbox.fleet import BadRow
from freshliance_pipeline.sync.readings import SyncSettings, sync_readings
from freshliance_pipeline_tests.conftest import Gateway, point_pipeline_at, served, start_gateway
from freshliance_pipeline_tests.truth import (
    LAKE_FIELDS,
    anchor_day,
    day_ms,
    expected_rows,
    lake_rows,
    lake_truth,
    warehouse_rows,
)

DATA = "tracker.tripData.pageProbeData"
# Kinds whose row cannot be placed: only among the rejects. The others keep their reading.
ROW_LEVEL = {"ts_in_seconds", "ts_before_2000", "ts_in_future", "conflicting_duplicate"}
VALUE_FIELD = {
    "temperature_out_of_range": "temperature",
    "temperature_unreadable": "temperature",
    "latitude_out_of_range": "latitude",
    "longitude_out_of_range": "longitude",
}
# Windows stay open (probed) on every run instead of settling, so a rerun exercises the counts.
NEVER_SETTLE = str(24 * 365)

Key = tuple[int, int, int]


@dataclass(frozen=True)
class World:
    gateway: Gateway
    start: date
    end: date

    @property
    def fleet(self) -> Fleet:
        return self.gateway.fleet

    def bad_rows(self) -> list[BadRow]:
        return self.fleet.bad_rows(day_ms(self.start), day_ms(self.end + timedelta(days=1)) - 1)

    def pair_first(self, bad: BadRow) -> Key:
        """The reading whose ts a conflicting duplicate reports."""
        interval = self.fleet.trip(bad.trip_id).interval_ms
        return (bad.trip_id, bad.probe_type, bad.ts - interval)

    def removed(self) -> set[Key]:
        keys = set()
        for bad in self.bad_rows():
            if bad.kind in ROW_LEVEL:
                keys.add((bad.trip_id, bad.probe_type, bad.ts))
            if bad.kind == "conflicting_duplicate":
                keys.add(self.pair_first(bad))
        return keys

    def nulled(self) -> dict[Key, str]:
        return {
            (b.trip_id, b.probe_type, b.ts): VALUE_FIELD[b.kind]
            for b in self.bad_rows()
            if b.kind in VALUE_FIELD
        }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    fleet = Fleet(FleetConfig(seed=7, devices=12, days=30, bad_rows=True))
    end = anchor_day(fleet) - timedelta(days=6)
    with served(fleet) as gw:
        yield World(gw, end - timedelta(days=14), end)


@dataclass(frozen=True)
class Synced:
    world: World
    data_dir: Path
    instance: dg.DagsterInstance


@pytest.fixture(scope="module")
def synced(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        data_dir = point_pipeline_at(
            monkeypatch,
            world.gateway,
            tmp_path_factory.mktemp("rejects") / "data",
            FRESHLIANCE_SETTLE_HOURS=NEVER_SETTLE,
        )
        instance = dg.DagsterInstance.ephemeral()
        outcome = run_sync(world.start, world.end, instance=instance)
        assert outcome.success, outcome.errors
        yield Synced(world, data_dir, instance)


def stored_rejects(lake_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in partition_values(lake_dir, schemas.REJECTED_READINGS):
        table = read_partition(lake_dir, schemas.REJECTED_READINGS, day)
        assert table is not None
        rows.extend({**r, "reading_date": day} for r in table.to_pylist())
    return rows


def expected_rejects(world: World) -> Counter[tuple[Any, ...]]:
    """(trip, probe, reason, in readings, true ts or None) of every row the lake must refuse."""
    found: Counter[tuple[Any, ...]] = Counter()
    for bad in world.bad_rows():
        if bad.kind == "conflicting_duplicate":
            first = world.pair_first(bad)
            found[(bad.trip_id, bad.probe_type, bad.kind, False, first[2])] += 2
        elif bad.kind in ROW_LEVEL:
            found[(bad.trip_id, bad.probe_type, bad.kind, False, None)] += 1
        else:
            found[(bad.trip_id, bad.probe_type, bad.kind, True, bad.ts)] += 1
    truth = world.fleet.ground_truth(day_ms(world.start), day_ms(world.end + timedelta(days=1)) - 1)
    for trip_id in {r["userDeviceTripId"] for r in truth}:
        for sentinel in world.fleet.trip(trip_id).sentinels:
            if day_ms(world.start) <= sentinel.ts < day_ms(world.end + timedelta(days=1)):
                key = (trip_id, sentinel.probe_type, "temperature_sentinel", True, sentinel.ts)
                found[key] += 1
    return found


def test_the_world_plants_every_kind_in_the_range(world: World) -> None:
    kinds = {bad.kind for bad in world.bad_rows()}

    assert kinds == {*ROW_LEVEL, *VALUE_FIELD}


def test_the_lake_holds_every_trusted_reading_and_nulls_only_untrusted_values(
    synced: Synced,
) -> None:
    world = synced.world
    removed, nulled = world.removed(), world.nulled()
    expected = []
    for row in lake_truth(world.fleet, world.start, world.end):
        key = (row[0], row[2], row[3])
        if key in removed:
            continue
        if key in nulled:
            row = tuple(
                None if f == nulled[key] else v for f, v in zip(LAKE_FIELDS, row, strict=True)
            )
        expected.append(row)

    lake = lake_rows(synced.data_dir / "lake")

    assert removed and nulled
    assert sorted(lake, key=str) == sorted(expected, key=str)
    assert len({(r[0], r[2], r[3]) for r in lake}) == len(lake)


def test_every_refused_row_is_among_the_rejects_with_its_reason_and_as_sent(
    synced: Synced,
) -> None:
    world = synced.world
    rejects = stored_rejects(synced.data_dir / "lake")

    epoch_ms = [None if r["ts"] is None else _ms(r["ts"]) for r in rejects]
    found = Counter(
        (r["userDeviceTripId"], r["probeType"], r["reason"], r["inReadings"], ts)
        for r, ts in zip(rejects, epoch_ms, strict=True)
    )

    assert found == expected_rejects(world)
    served = {(b.trip_id, b.probe_type, b.kind): b.served for b in world.bad_rows()}
    for reject in rejects:
        sent = served.get((reject["userDeviceTripId"], reject["probeType"], reject["reason"]))
        if sent is not None and reject["reason"] != "conflicting_duplicate":
            raw = reject["rawRow"]
            for name, value in sent.items():
                assert f'"{name}":{value!r}'.replace("'", '"') in raw, (raw, sent)
        assert reject["detail"]
        assert world.start.isoformat() <= reject["reading_date"] <= world.end.isoformat()


def test_the_warehouse_shows_raw_values_and_leaves_refused_rows_out(synced: Synced) -> None:
    world = synced.world
    removed = world.removed()
    bad_values = {(b.trip_id, b.probe_type, b.ts): b for b in world.bad_rows()}
    expected = []
    for row in expected_rows(world.fleet, world.start, world.end):
        key = (row[0], row[2], _ms(row[3]))
        if key in removed:
            continue
        bad = bad_values.get(key)
        if bad is not None:
            values = list(row)
            if bad.kind == "temperature_out_of_range":
                values[4] = bad.served["temperature"]  # raw_temperature_c: as sent
            elif bad.kind == "temperature_unreadable":
                values[4] = None  # "--" is no number
            elif bad.kind == "latitude_out_of_range":
                values[8] = None
            elif bad.kind == "longitude_out_of_range":
                values[9] = None
            row = tuple(values)
        expected.append(row)

    assert warehouse_rows(synced.data_dir / "analytics.duckdb") == expected


def test_a_rerun_probes_each_window_once_and_rewrites_nothing(synced: Synced) -> None:
    """The design point: rejects count toward a window's stored rows, so the gateway's count
    matches and no window with a reject is read again."""
    world = synced.world
    lake = synced.data_dir / "lake"
    folders = (lake / "readings", lake / "rejected", lake / "reading_windows")
    stamps = {p: p.stat().st_mtime_ns for f in folders for p in f.rglob("*.parquet")}
    world.gateway.server.counts.reset()

    outcome = run_sync(world.start, world.end, instance=synced.instance)

    assert outcome.success, outcome.errors
    metadata = _readings_metadata(synced.instance, outcome.run_id)
    actions = metadata["windows_by_action"]
    assert set(actions) <= {"unchanged", "skipped"}, actions
    assert world.gateway.server.counts[DATA] == actions["unchanged"]
    assert metadata["rows_rejected"] == 0  # nothing fetched, nothing newly rejected
    assert {p: p.stat().st_mtime_ns for f in folders for p in f.rglob("*.parquet")} == stamps
    check = _check_evaluation(synced.instance, outcome.run_id)
    assert check.passed
    assert outcome.checks["rejected_share_below_limit"] == (True, check.description)


def test_the_check_fails_when_a_days_rejected_share_passes_the_limit(
    synced: Synced, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = synced.world
    monkeypatch.setenv("FRESHLIANCE_MAX_REJECTED_SHARE", "0.0005")
    rejects = stored_rejects(synced.data_dir / "lake")
    served_by_day = Counter(r["reading_date"] for r in rejects if not r["inReadings"])
    for day in partition_values(synced.data_dir / "lake", schemas.READINGS):
        path = synced.data_dir / "lake" / "readings" / f"reading_date={day}" / "part-0.parquet"
        served_by_day[day] += pq.read_metadata(path).num_rows
    rejected_by_day = Counter(r["reading_date"] for r in rejects)
    over = sorted(d for d, n in rejected_by_day.items() if n / served_by_day[d] > 0.0005)

    outcome = run_sync(world.start, world.end, instance=synced.instance)

    assert outcome.success, outcome.errors  # a failed check reports; the run goes on
    check = _check_evaluation(synced.instance, outcome.run_id)
    assert not check.passed
    assert over
    assert check.metadata["days_over_limit"].value == over
    assert check.metadata["rejected_rows_by_day"].value == dict(sorted(rejected_by_day.items()))
    assert check.description is not None and over[0] in check.description
    assert outcome.checks["rejected_share_below_limit"] == (False, check.description)


def _readings_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.is_step_materialization:
            continue
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey("freshliance_readings"):
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError("the run materialized no readings")


def _check_evaluation(instance: dg.DagsterInstance, run_id: str) -> Any:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        assert record.dagster_event is not None
        evaluation = record.dagster_event.event_specific_data
        if getattr(evaluation, "check_name", None) == "rejected_share_below_limit":
            return evaluation
    raise AssertionError("the run evaluated no rejected-share check")


def _ms(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_a_tail_row_dated_before_the_tail_is_rejected_not_merged(tmp_path: Path) -> None:
    """A duplicate's two rows arrive in different runs: the first run stores reading i; the
    next run's tail (after it) brings reading i+1 claiming reading i's time. It must not
    replace the stored reading: it is rejected as outside what the tail asked for."""
    fleet = Fleet(FleetConfig(seed=7, devices=12, days=30, bad_rows=True, late_uploads=False))
    bad = next(b for b in fleet.bad_rows(0, fleet.anchor_ms) if b.kind == "conflicting_duplicate")
    trip = fleet.trip(bad.trip_id)
    first_ts = bad.ts - trip.interval_ms
    day = datetime.fromtimestamp(first_ts / 1000, tz=UTC).replace(hour=0, minute=0, second=0)
    lake_dir = tmp_path / "lake"
    gateway = start_gateway(fleet)
    retry = RetryPolicy(attempts=2, initial_wait_s=0.0, max_wait_s=0.0)
    try:
        with FreshlianceClient(
            app_id=gateway.app_id, private_key=gateway.key, base_url=gateway.url, retry=retry
        ) as client:
            for clock_ms in (bad.ts - 1, fleet.anchor_ms):  # before reading i+1 exists; after
                fleet.clock.set(clock_ms)
                trips = fleet.trip_rows(device_code=trip.device_code)
                sync_readings(
                    client,
                    lake_dir,
                    trips,
                    day,
                    day + timedelta(days=1),
                    datetime.now(UTC),
                    SyncSettings(settle=timedelta(days=3650), concurrency=1),
                )
    finally:
        gateway.server.stop()

    stored = {
        (r[0], r[2], r[3]): r for r in lake_rows(lake_dir) if r[0] == trip.trip_id and r[2] == 0
    }
    truth = {(r[0], r[2], r[3]): r for r in lake_truth(fleet, day.date(), day.date())}
    key = (trip.trip_id, bad.probe_type, first_ts)
    assert stored[key] == truth[key]  # reading i as first stored
    assert (trip.trip_id, bad.probe_type, bad.ts) not in stored  # reading i+1 has no sound ts
    [reject] = [
        r
        for r in stored_rejects(lake_dir)
        if r["userDeviceTripId"] == trip.trip_id and r["reason"] == "ts_outside_window"
    ]
    assert f'"ts":{first_ts}' in reject["rawRow"]
    assert not reject["inReadings"]
