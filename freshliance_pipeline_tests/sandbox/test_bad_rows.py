"""``FleetConfig.bad_rows``: untrustworthy rows served by pageProbeData, exactly as planted, with
the ground truth, counts, paging, row orders and webhook pushes left true."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from freshliance_pipeline.sandbox import (
    BAD_ROW_KINDS,
    BadRow,
    Fleet,
    FleetConfig,
    SandboxServer,
    WireQuirks,
)
from freshliance_pipeline.sandbox.fleet import MAX_LATE_MS, RowOrder
from freshliance_pipeline.sandbox.readings import api_row, reading
from freshliance_pipeline.sandbox.world import DAY, Trip
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

READINGS = "tracker.tripData.pageProbeData"
EVERYTHING = (0, 2**62)
YEAR_2000_MS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) * 1000
YEAR_1990_MS = int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()) * 1000


def world(seed: int, bad_rows: bool) -> Fleet:
    return Fleet(
        FleetConfig(seed=seed, devices=12, days=30, anchor_ms=ANCHOR_MS, bad_rows=bad_rows)
    )


@pytest.fixture(scope="module", params=[7, 11])
def planted(request: pytest.FixtureRequest) -> Fleet:
    seed: int = request.param
    return world(seed, bad_rows=True)


def true_rows(trip: Trip, probe_type: int) -> list[dict[str, Any]]:
    """The probe's whole trip as the API would serve it without bad rows."""
    begin, end = trip.actual_begin_ms, trip.actual_end_ms
    return [
        api_row(reading(trip, probe_type, i))
        for i in trip.indices(probe_type, begin, end, trip.visible_through(ANCHOR_MS))
    ]


def served_rows(fleet: Fleet, trip: Trip, probe_type: int, **kwargs: Any) -> list[dict[str, Any]]:
    return fleet.reading_rows(
        trip.trip_id, probe_type, trip.actual_begin_ms, trip.actual_end_ms, **kwargs
    )


def expected_served(bad: BadRow, truth: list[dict[str, Any]], position: int) -> dict[str, Any]:
    """What the kind says the affected row's changed fields are, from the true rows alone."""
    ts = truth[position]["ts"]
    by_kind: dict[str, dict[str, Any]] = {
        "ts_in_seconds": {"ts": ts // 1000},
        "ts_before_2000": {"ts": ts - 30 * 365 * DAY},
        "ts_in_future": {"ts": ts + 400 * DAY},
        "temperature_out_of_range": {"temperature": 6553.5},
        "temperature_unreadable": {"temperature": "--"},
        "latitude_out_of_range": {"latitude": 91.5},
        "longitude_out_of_range": {"longitude": 181.25},
        "conflicting_duplicate": {"ts": truth[position - 1]["ts"]},
    }
    return by_kind[bad.kind]


def canonical(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


# -- off ---------------------------------------------------------------------------------------


def test_off_by_default_nothing_is_planted_and_rows_are_the_true_readings() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS))
    trips = fleet.trips

    assert fleet.config.bad_rows is False
    assert fleet.bad_rows(*EVERYTHING) == []
    assert all(trip.bad_rows == () for trip in trips)
    for trip in trips[::3]:
        for probe in trip.probes:
            assert served_rows(fleet, trip, probe) == true_rows(trip, probe)


def test_on_changes_nothing_but_the_planted_rows() -> None:
    off, on = world(7, bad_rows=False), world(7, bad_rows=True)
    window = (ANCHOR_MS - 30 * DAY, ANCHOR_MS)

    assert on.ground_truth(*window) == off.ground_truth(*window)
    assert on.truth_counts(*window) == off.truth_counts(*window)
    assert on.trip_rows() == off.trip_rows() and on.device_rows() == off.device_rows()
    for trip in on.trips:
        assert on.trip(trip.trip_id).bad_rows == trip.bad_rows
        if trip.bad_rows:
            continue
        for probe in trip.probes:
            assert served_rows(on, trip, probe) == served_rows(off, off.trip(trip.trip_id), probe)


# -- on ----------------------------------------------------------------------------------------


def test_every_kind_is_planted(planted: Fleet) -> None:
    bad_rows = planted.bad_rows(*EVERYTHING)
    kinds = Counter(bad.kind for bad in bad_rows)

    assert set(kinds) == set(BAD_ROW_KINDS)
    assert bad_rows == sorted(bad_rows, key=lambda bad: (bad.trip_id, bad.probe_type, bad.ts))
    assert bad_rows == [bad for trip in planted.trips for bad in trip.bad_rows]
    # At most one per trip, on about half of the trips that qualify.
    assert len({bad.trip_id for bad in bad_rows}) == len(bad_rows)
    late = ANCHOR_MS - MAX_LATE_MS - DAY
    qualifying = [trip for trip in planted.trips if trip.actual_end_ms <= late]
    assert 0.3 * len(qualifying) <= len(bad_rows) <= 0.7 * len(qualifying)


def test_planted_rows_follow_the_placement_rules(planted: Fleet) -> None:
    for bad in planted.bad_rows(*EVERYTHING):
        trip = planted.trip(bad.trip_id)
        step = trip.interval_ms
        index = (bad.ts - trip.actual_begin_ms) // step
        first = index - 1 if bad.kind == "conflicting_duplicate" else index

        assert trip.actual_end_ms <= ANCHOR_MS - MAX_LATE_MS - DAY
        assert len(true_rows(trip, bad.probe_type)) >= 40
        assert (bad.ts - trip.actual_begin_ms) % step == 0
        assert first >= 3 and index <= trip.final_index - 3
        for i in range(first, index + 1):
            ts = trip.actual_begin_ms + i * step
            assert min(ts % DAY, DAY - ts % DAY) >= 3 * step
            assert all(abs(s.ts - ts) > 2 * step for s in trip.sentinels)
            for run in trip.excursions:
                low, high = run.start_ms - run.ramp_ms, run.end_ms + run.recovery_ms
                assert not low - 2 * step <= ts <= high + 2 * step
            for gap in trip.gaps:
                assert not gap.start_ms - 2 * step <= ts <= gap.end_ms + 2 * step


def test_each_bad_row_is_served_exactly_as_its_kind_says(planted: Fleet) -> None:
    for bad in planted.bad_rows(*EVERYTHING):
        trip = planted.trip(bad.trip_id)
        truth = true_rows(trip, bad.probe_type)
        served = served_rows(planted, trip, bad.probe_type)
        window = (bad.trip_id, bad.probe_type, trip.actual_begin_ms, trip.actual_end_ms)

        assert len(served) == len(truth) == planted.reading_count(*window)
        differing = [j for j, (s, t) in enumerate(zip(served, truth, strict=True)) if s != t]
        assert len(differing) == 1, (bad, differing)
        position = differing[0]
        assert truth[position]["ts"] == bad.ts
        changed = expected_served(bad, truth, position)
        assert bad.served == changed
        assert served[position] == {**truth[position], **changed}
        if bad.kind in ("latitude_out_of_range", "longitude_out_of_range"):
            assert "latitude" in truth[position] and "longitude" in truth[position]
        if bad.kind == "conflicting_duplicate":
            assert served[position]["ts"] == served[position - 1]["ts"]
            assert served[position] != served[position - 1]
        if bad.kind == "ts_before_2000":
            assert YEAR_1990_MS < served[position]["ts"] < YEAR_2000_MS
        if bad.kind == "ts_in_future":
            assert served[position]["ts"] > ANCHOR_MS + 365 * DAY


def test_ground_truth_and_counts_stay_true(planted: Fleet) -> None:
    for bad in planted.bad_rows(*EVERYTHING):
        truth = planted.ground_truth(bad.ts, bad.ts, trip_id=bad.trip_id, probe_type=bad.probe_type)
        trip = planted.trip(bad.trip_id)
        index = (bad.ts - trip.actual_begin_ms) // trip.interval_ms
        value = reading(trip, bad.probe_type, index)

        assert [(row["ts"], row["temperature"]) for row in truth] == [(bad.ts, value.temperature)]
        assert truth[0]["latitude"] == value.latitude
        counts = planted.truth_counts(
            bad.ts, bad.ts, trip_id=bad.trip_id, probe_type=bad.probe_type
        )
        assert counts == {"recorded": 1, "visible": 1, "pending": 0}


def test_every_row_order_and_page_serves_the_same_rows(planted: Fleet) -> None:
    for bad in planted.bad_rows(*EVERYTHING):
        trip = planted.trip(bad.trip_id)
        in_time = served_rows(planted, trip, bad.probe_type)
        paged = [
            row
            for offset in range(0, len(in_time), 50)
            for row in served_rows(planted, trip, bad.probe_type, offset=offset, limit=50)
        ]

        assert paged == in_time
        scrambled = served_rows(planted, trip, bad.probe_type, order="scrambled")
        assert scrambled != in_time and canonical(scrambled) == canonical(in_time)
        reversed_rows = served_rows(planted, trip, bad.probe_type, order="reversed")
        assert reversed_rows == in_time[::-1]


def test_a_daily_window_holds_both_rows_of_a_duplicate(planted: Fleet) -> None:
    duplicates = [b for b in planted.bad_rows(*EVERYTHING) if b.kind == "conflicting_duplicate"]

    assert duplicates
    for bad in duplicates:
        day = bad.ts - bad.ts % DAY
        rows = planted.reading_rows(bad.trip_id, bad.probe_type, day, day + DAY - 1)
        sharing = [row for row in rows if row["ts"] == bad.served["ts"]]
        assert len(sharing) == 2 and sharing[0] != sharing[1]


def test_bad_rows_narrows_to_a_window_by_true_ts(planted: Fleet) -> None:
    everything = planted.bad_rows(*EVERYTHING)
    bad = everything[len(everything) // 2]

    assert planted.bad_rows(bad.ts, bad.ts) == [bad]
    assert planted.bad_rows(bad.ts + 1, bad.ts + 1) == []
    assert planted.bad_rows(ANCHOR_MS - MAX_LATE_MS - DAY + 1, ANCHOR_MS) == []
    before = [b for b in everything if b.ts < bad.ts]
    assert planted.bad_rows(0, bad.ts - 1) == before


def test_webhook_uploads_carry_the_true_readings(planted: Fleet) -> None:
    bad = planted.bad_rows(*EVERYTHING)[0]
    trip = planted.trip(bad.trip_id)
    index = (bad.ts - trip.actual_begin_ms) // trip.interval_ms
    uploaded_at = trip.upload_at(bad.ts)

    pushed = [
        value
        for upload in planted.uploads(uploaded_at - 1, uploaded_at)
        if upload.trip.trip_id == bad.trip_id
        for value in upload.readings[bad.probe_type]
        if value.ts == bad.ts
    ]

    assert pushed == [reading(trip, bad.probe_type, index)]


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_server() -> Iterator[SandboxServer]:
    with SandboxServer(world(7, bad_rows=True)) as server:
        yield server


@pytest.fixture(scope="module")
def planted_caller(planted_server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = planted_server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, planted_server.url, app_id, key)


@pytest.mark.parametrize("order", ["time", "scrambled"])
def test_paging_the_gateway_returns_the_bad_row(
    planted_server: SandboxServer, planted_caller: SignedCaller, order: RowOrder
) -> None:
    fleet = planted_server.fleet
    planted_server.gateway.quirks = WireQuirks(row_order=order)
    try:
        for kind in ("temperature_unreadable", "conflicting_duplicate"):
            bad = next(b for b in fleet.bad_rows(*EVERYTHING) if b.kind == kind)
            trip = fleet.trip(bad.trip_id)
            biz = {
                "userDeviceTripId": bad.trip_id,
                "probeType": bad.probe_type,
                "beginTime": trip.actual_begin_ms,
                "endTime": trip.actual_end_ms,
            }

            rows = planted_caller.all_rows(READINGS, biz, page_size=50)

            truth = true_rows(trip, bad.probe_type)
            position = next(j for j, row in enumerate(truth) if row["ts"] == bad.ts)
            expected = [dict(row) for row in truth]
            expected[position].update(bad.served)
            assert canonical(rows) == canonical(expected)
            if order == "time":
                assert rows == expected
            assert {**truth[position], **bad.served} in rows
    finally:
        planted_server.gateway.quirks = WireQuirks()
