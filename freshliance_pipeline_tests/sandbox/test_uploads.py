"""Recording versus uploading: readings become visible only when the device uploads them, late
after an offline spell but with their original timestamps, and the API always agrees with the
ground truth at the clock's time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer
from freshliance_pipeline.sandbox.build import OFFLINE_DEVICE_INDEX
from freshliance_pipeline.sandbox.world import DAY, HOUR, Trip
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

READINGS = "tracker.tripData.pageProbeData"
WHOLE_TIME = (0, 2**62)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    with SandboxServer(fleet) as server:
        yield server


@pytest.fixture
def caller(server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, server.url, app_id, key)


def offline_trip(fleet: Fleet) -> Trip:
    trip = fleet.latest_trip(fleet.devices[OFFLINE_DEVICE_INDEX])
    assert trip is not None and trip.offline_at(ANCHOR_MS)
    return trip


def api_readings(caller: SignedCaller, trip: Trip, probe: int = 0) -> list[dict[str, Any]]:
    window = {"userDeviceTripId": trip.trip_id, "probeType": probe, "beginTime": 0}
    return caller.all_rows(READINGS, {**window, "endTime": 2**62}, page_size=50)


def test_an_offline_devices_readings_appear_after_its_upload_with_original_timestamps(
    caller: SignedCaller, server: SandboxServer
) -> None:
    fleet = server.fleet
    trip = offline_trip(fleet)
    spell = next(s for s in trip.offline if s.start_ms <= ANCHOR_MS < s.end_ms)
    held = [
        r["ts"]
        for r in fleet.ground_truth(spell.start_ms - trip.upload_ms + 1, ANCHOR_MS, uploaded=False)
        if r["userDeviceTripId"] == trip.trip_id and r["probeType"] == 0
    ]

    before = api_readings(caller, trip)
    fleet.clock.set(spell.end_ms - 1)
    still_offline = api_readings(caller, trip)
    fleet.clock.set(spell.end_ms)
    after = api_readings(caller, trip)

    assert len(held) >= 8, "the spell holds back hours of readings"
    assert before and before[-1]["ts"] == spell.start_ms - trip.upload_ms
    assert not {r["ts"] for r in before} & set(held)
    assert still_offline == before
    assert set(held) <= {r["ts"] for r in after}
    assert after[: len(before)] == before
    assert max(held) <= ANCHOR_MS < spell.end_ms
    assert after == fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME)
    assert all((r["ts"] - trip.actual_begin_ms) % trip.interval_ms == 0 for r in after)
    assert {trip.upload_at(ts) for ts in held} == {spell.end_ms}


def test_online_devices_lag_by_at_most_one_upload_interval() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, devices=20))
    now = ANCHOR_MS

    for trip in fleet.trips:
        if trip.status(now) != "ing" or trip.offline_at(now):
            continue
        recorded = fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME, uploaded=False)
        shown = fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME)
        assert shown == recorded[: len(shown)]
        pending = recorded[len(shown) :]
        assert all(now - r["ts"] < trip.upload_ms for r in pending)


def test_ground_truth_moves_with_the_clock_and_counts_add_up() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    window = (ANCHOR_MS - 3 * DAY, ANCHOR_MS + DAY)

    at_anchor = fleet.truth_counts(*window)
    visible_then = fleet.ground_truth(*window)
    fleet.clock.advance(2 * DAY)
    later = fleet.truth_counts(*window)
    visible_later = fleet.ground_truth(*window)

    assert at_anchor["visible"] == len(visible_then)
    assert at_anchor["recorded"] == at_anchor["visible"] + at_anchor["pending"] > 0
    assert at_anchor["pending"] > 0
    assert later["visible"] > at_anchor["visible"]
    assert later["pending"] < at_anchor["pending"] or later["recorded"] > at_anchor["recorded"]
    old_keys = {(r["userDeviceTripId"], r["probeType"], r["ts"]) for r in visible_then}
    assert old_keys <= {(r["userDeviceTripId"], r["probeType"], r["ts"]) for r in visible_later}


def test_uploads_between_two_instants_are_exactly_what_became_visible() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    window = (0, 2**62)
    before = fleet.ground_truth(*window)
    later = ANCHOR_MS + 18 * HOUR

    uploads = fleet.uploads(ANCHOR_MS, later)
    fleet.clock.set(later)
    after = fleet.ground_truth(*window)

    pushed = {
        (u.trip.trip_id, probe, r.ts)
        for u in uploads
        for probe, rows in u.readings.items()
        for r in rows
    }
    new = {(r["userDeviceTripId"], r["probeType"], r["ts"]) for r in after}
    new -= {(r["userDeviceTripId"], r["probeType"], r["ts"]) for r in before}
    assert pushed == new and pushed
    assert [u.at_ms for u in uploads] == sorted(u.at_ms for u in uploads)
    assert all(ANCHOR_MS < u.at_ms <= later for u in uploads)
    # The device that was offline at the anchor catches up in one big upload.
    offline = fleet.devices[OFFLINE_DEVICE_INDEX]
    biggest = max(
        (u for u in uploads if u.trip.device is offline), key=lambda u: len(u.readings[0])
    )
    assert len(biggest.readings[0]) > 8


def test_the_demo_world_keeps_its_last_week_mostly_visible_at_the_anchor() -> None:
    fleet = Fleet(FleetConfig(seed=7, devices=12, days=30, anchor_ms=ANCHOR_MS))

    week = fleet.truth_counts(ANCHOR_MS - 7 * DAY, ANCHOR_MS)

    assert week["visible"] > 0.98 * week["recorded"]
    assert week["pending"] > 0
