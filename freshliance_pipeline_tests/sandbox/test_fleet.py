"""The sandbox world: deterministic, complete in its statuses and sensors, exact about readings."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, UnknownTripError
from freshliance_pipeline.sandbox.world import DAY, HOUR, Trip
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS

SENSOR_FIELDS = ("humidity", "light", "shock", "latitude", "longitude")
WHOLE_TIME = (0, 2**62)


def snapshot(fleet: Fleet) -> dict[str, Any]:
    """Everything the fleet answers, for comparing two worlds."""
    return {
        "user": fleet.user_info(),
        "devices": fleet.device_rows(),
        "trips": fleet.trip_rows(),
        "groups": fleet.group_rows(),
        "group_devices": [fleet.group_device_rows(g["userGroupId"]) for g in fleet.group_rows()],
        "templates": fleet.template_rows(),
        "readings": fleet.ground_truth(ANCHOR_MS - 2 * DAY, ANCHOR_MS),
    }


def visible(fleet: Fleet, trip: Trip, probe_type: int = 0) -> list[dict[str, Any]]:
    return fleet.reading_rows(trip.trip_id, probe_type, *WHOLE_TIME)


def test_same_seed_gives_the_same_world_and_another_seed_a_different_one() -> None:
    config = FleetConfig(seed=7, anchor_ms=ANCHOR_MS)

    first, second = snapshot(Fleet(config)), snapshot(Fleet(config))
    other = snapshot(Fleet(FleetConfig(seed=8, anchor_ms=ANCHOR_MS)))

    assert first == second
    assert first["readings"], "the comparison window must hold readings"
    for part in ("devices", "trips", "readings"):
        assert first[part] != other[part], part


def test_default_anchor_is_today_midnight_utc_and_the_clock_starts_there() -> None:
    fleet = Fleet()

    assert fleet.anchor_ms % DAY == 0
    assert fleet.clock.now_ms() == fleet.anchor_ms


@pytest.mark.parametrize("seed", [7, 8, 1234])
def test_every_trip_status_occurs(seed: int) -> None:
    fleet = Fleet(FleetConfig(seed=seed, anchor_ms=ANCHOR_MS))
    now = fleet.clock.now_ms()

    statuses = Counter(row["tripStatus"] for row in fleet.trip_rows())

    assert set(statuses) == {"end", "ing", "wait"}
    for row in fleet.trip_rows():
        if row["tripStatus"] == "end":
            assert row["actualBeginTime"] < row["actualEndTime"] <= now
        elif row["tripStatus"] == "ing":
            assert row["actualBeginTime"] <= now and "actualEndTime" not in row
        else:
            assert "actualBeginTime" not in row and "actualEndTime" not in row
            assert row["expectedBeginTime"] > now


def test_trip_status_follows_the_clock() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    waiting = next(t for t in fleet.trips if t.status(ANCHOR_MS) == "wait")

    fleet.clock.set(waiting.actual_begin_ms)
    started = fleet.trip_rows(device_code=waiting.device_code)[0]
    first_readings = visible(fleet, waiting)
    fleet.clock.set(waiting.actual_end_ms)
    ended = fleet.trip_rows(device_code=waiting.device_code)[0]

    assert started["tripStatus"] == "ing" and len(first_readings) == 1
    assert ended["tripStatus"] == "end" and ended["actualEndTime"] == waiting.actual_end_ms
    assert len(visible(fleet, waiting)) == waiting.final_index + 1


def test_trips_mostly_fall_in_the_last_week_and_some_reach_back_the_whole_history() -> None:
    config = FleetConfig(anchor_ms=ANCHOR_MS, days=30)
    fleet = Fleet(config)
    week_ago = ANCHOR_MS - 7 * DAY

    readings = fleet.ground_truth(*WHOLE_TIME)
    recent_trips = [t for t in fleet.trips if t.actual_end_ms >= week_ago]

    assert sum(r["ts"] >= week_ago for r in readings) > len(readings) / 2
    assert len(recent_trips) > len(fleet.trips) / 2
    assert min(t.actual_begin_ms for t in fleet.trips) < ANCHOR_MS - 21 * DAY
    assert all(t.actual_begin_ms >= ANCHOR_MS - 30 * DAY for t in fleet.trips)


def test_trips_are_one_to_six_days_at_five_ten_or_fifteen_minutes(fleet: Fleet) -> None:
    for trip in fleet.trips:
        assert trip.collect_interval_min in (5, 10, 15)
        assert HOUR <= trip.actual_end_ms - trip.actual_begin_ms <= 6 * DAY + HOUR
    multi = [d for d in fleet.devices if d.use_type == 1]
    single = [d for d in fleet.devices if d.use_type == 0]
    assert multi and single
    for device in single:
        assert len(fleet.trip_rows(device_code=device.device_code)) == 1


def test_device_rows_point_at_the_newest_trip(fleet: Fleet) -> None:
    for row in fleet.device_rows():
        trips = fleet.trip_rows(device_code=row["deviceCode"])
        assert row["userDeviceTripId"] == max(t["userDeviceTripId"] for t in trips)
        assert row["bindTime"] < min(t["expectedBeginTime"] for t in trips) + DAY
        assert row["deviceCode"].startswith("2507") and row["deviceCode"].endswith("T")


def test_readings_are_spaced_by_the_interval_within_the_span_and_never_after_the_clock() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS))
    fleet.clock.advance(5 * HOUR + 123)
    now = fleet.clock.now_ms()

    for trip in fleet.trips:
        rows = visible(fleet, trip)
        assert len(rows) == fleet.reading_count(trip.trip_id, 0, *WHOLE_TIME)
        if trip.status(now) == "wait":
            assert rows == []
            continue
        times = [row["ts"] for row in rows]
        assert times[0] == trip.actual_begin_ms
        assert all(b - a == trip.interval_ms for a, b in itertools.pairwise(times))
        assert times[-1] <= min(now, trip.actual_end_ms)
        assert times[-1] + trip.interval_ms > min(now, trip.actual_end_ms)


def test_reading_windows_include_both_ends(fleet: Fleet) -> None:
    trip = next(t for t in fleet.trips if t.status(ANCHOR_MS) == "end")
    rows = visible(fleet, trip)
    ts = rows[10]["ts"]

    exact = fleet.reading_rows(trip.trip_id, 0, ts, ts)
    between = fleet.reading_rows(trip.trip_id, 0, ts + 1, ts + trip.interval_ms - 1)
    three = fleet.reading_rows(trip.trip_id, 0, ts, ts + 2 * trip.interval_ms)

    assert exact == [rows[10]]
    assert between == []
    assert three == rows[10:13]
    assert fleet.reading_count(trip.trip_id, 0, ts, ts + 2 * trip.interval_ms) == 3


def test_offset_and_limit_slice_the_window(fleet: Fleet) -> None:
    trip = max(fleet.trips, key=lambda t: len(visible(fleet, t)))
    whole = visible(fleet, trip)

    pieces = [
        fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME, offset=o, limit=37)
        for o in range(0, len(whole), 37)
    ]

    assert [row for piece in pieces for row in piece] == whole


def test_fields_follow_the_device_model(fleet: Fleet) -> None:
    models = {trip.device.model.device_type for trip in fleet.trips}
    assert len(models) >= 4

    for trip in fleet.trips:
        model = trip.device.model
        for probe_type in (0, 1):
            rows = visible(fleet, trip, probe_type)
            if probe_type not in model.probes:
                assert rows == [] and fleet.reading_count(trip.trip_id, 1, *WHOLE_TIME) == 0
                continue
            sensors = model.sensors(probe_type)
            expected = {"ts", "temperature"}
            expected |= {"humidity", "light", "shock"} & sensors
            expected |= {"latitude", "longitude"} if "gps" in sensors else set()
            for row in rows:
                assert set(row) == expected
                assert round(row["temperature"], 1) == row["temperature"]


def test_gps_devices_travel_from_origin_to_destination(fleet: Fleet) -> None:
    trip = next(
        t for t in fleet.trips if "gps" in t.device.model.builtin and t.status(ANCHOR_MS) == "end"
    )

    rows = visible(fleet, trip)

    assert abs(rows[0]["latitude"] - trip.origin.latitude) < 0.01
    assert abs(rows[-1]["longitude"] - trip.destination.longitude) < 0.01
    assert all(round(row["latitude"], 6) == row["latitude"] for row in rows)


def test_planted_excursions_are_the_only_out_of_range_runs(fleet: Fleet) -> None:
    planted = [(t, run) for t in fleet.trips for run in t.excursions]
    assert planted

    for trip in fleet.trips:
        profile = trip.device.profile
        for probe_type in trip.probes:
            runs = [run for run in trip.excursions if run.probe_type == probe_type]
            for row in visible(fleet, trip, probe_type):
                run = next((r for r in runs if r.start_ms <= row["ts"] <= r.end_ms), None)
                if run is None:
                    assert profile.low <= row["temperature"] <= profile.high
                elif run.direction == "high":
                    assert row["temperature"] > profile.high
                else:
                    assert row["temperature"] < profile.low
    for _, run in planted:
        assert 20 * 60_000 <= run.end_ms - run.start_ms <= 90 * 60_000


def test_ground_truth_is_every_reading_row_with_nulls_for_missing_sensors(fleet: Fleet) -> None:
    begin, end = ANCHOR_MS - DAY, ANCHOR_MS

    truth = fleet.ground_truth(begin, end)

    expected = []
    for trip in fleet.trips:
        for probe_type in trip.probes:
            for row in fleet.reading_rows(trip.trip_id, probe_type, begin, end):
                full = {"userDeviceTripId": trip.trip_id, "deviceCode": trip.device_code}
                full |= {"probeType": probe_type, "ts": row["ts"]}
                full |= {"temperature": row["temperature"]}
                full |= {name: row.get(name) for name in SENSOR_FIELDS}
                expected.append(full)
    assert truth == expected
    assert all(begin <= row["ts"] <= end for row in truth)
    assert {row["probeType"] for row in truth} == {0, 1}


def test_trip_time_filter_is_span_overlap_and_leaves_out_waiting_trips(fleet: Fleet) -> None:
    begin, end = ANCHOR_MS - 2 * DAY, ANCHOR_MS - DAY

    rows = fleet.trip_rows(begin_ms=begin, end_ms=end)

    expected = {
        t.trip_id
        for t in fleet.trips
        if t.status(ANCHOR_MS) != "wait"
        and t.actual_begin_ms <= end
        and min(t.actual_end_ms, ANCHOR_MS) >= begin
    }
    assert {row["userDeviceTripId"] for row in rows} == expected
    assert all(row["tripStatus"] != "wait" for row in fleet.trip_rows(begin_ms=0))
    ids = [row["userDeviceTripId"] for row in fleet.trip_rows()]
    assert ids == sorted(ids, reverse=True)


def test_every_device_sits_in_exactly_one_group(fleet: Fleet) -> None:
    groups = fleet.group_rows()

    grouped = [row for g in groups for row in fleet.group_device_rows(g["userGroupId"])]

    assert len(groups) == 3
    assert sorted(row["deviceCode"] for row in grouped) == sorted(
        d.device_code for d in fleet.devices
    )
    assert {row["deviceStatus"] for row in grouped} == {"online", "offline"}
    group_id = groups[0]["userGroupId"]
    some = fleet.group_device_rows(group_id)[0]
    filtered = fleet.group_device_rows(
        group_id, device_code=some["deviceCode"], device_status=some["deviceStatus"]
    )
    assert filtered == [some]
    assert fleet.group_device_rows(-1) == []


def test_templates_and_account_have_the_documented_fields(fleet: Fleet) -> None:
    templates = fleet.template_rows()

    assert 2 <= len(templates) <= 3
    for row in templates:
        config = row["tripConfig"]
        assert {"templateName", "tripConfigTemplateId", "startDelay", "collectInterval"} <= set(
            config
        )
        assert all(set(phone) == {"areaCode", "phone"} for phone in config.get("phoneList", []))
    assert fleet.template_rows(template_name="pharma") == templates[:1]
    assert set(fleet.user_info()) == {
        "email",
        "timeZone",
        "language",
        "dateFormat",
        "temperatureUnit",
        "chnSmsNum",
        "intSmsNum",
        "chnVoiceNum",
        "intVoiceNum",
        "nickname",
    }


def test_unknown_trip_raises(fleet: Fleet) -> None:
    with pytest.raises(UnknownTripError):
        fleet.reading_count(1, 0, *WHOLE_TIME)


def test_a_large_fleet_over_a_year_is_cheap_because_readings_are_computed() -> None:
    fleet = Fleet(FleetConfig(devices=2000, days=365, anchor_ms=ANCHOR_MS))

    total = sum(
        fleet.reading_count(t.trip_id, p, *WHOLE_TIME) for t in fleet.trips for p in t.probes
    )
    trip = fleet.trips[len(fleet.trips) // 2]
    count = fleet.reading_count(trip.trip_id, 0, *WHOLE_TIME)
    tail = fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME, offset=count - 3, limit=50)

    assert total > 1_000_000
    assert [row["ts"] for row in tail] == [
        trip.actual_begin_ms + i * trip.interval_ms for i in range(count - 3, count)
    ]
