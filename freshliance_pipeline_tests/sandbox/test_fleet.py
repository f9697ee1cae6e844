"""The sandbox world: deterministic, complete in its statuses, sensors and anomalies, exact about
readings."""

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
    fleet.clock.set(waiting.final_upload_ms)
    ended = fleet.trip_rows(device_code=waiting.device_code)[0]
    recorded = fleet.reading_count(waiting.trip_id, 0, *WHOLE_TIME, uploaded=False)

    # The tracker uploads as it starts, so the first reading is visible at once.
    assert started["tripStatus"] == "ing" and len(first_readings) == 1
    assert ended["tripStatus"] == "end" and ended["actualEndTime"] == waiting.actual_end_ms
    assert len(visible(fleet, waiting)) == recorded
    holes = sum(
        (g.end_ms - g.start_ms) // waiting.interval_ms + 1
        for g in waiting.gaps
        if g.probe_type == 0
    )
    assert recorded == waiting.final_index + 1 - holes


def test_multi_use_devices_record_through_the_whole_history_and_single_use_once() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, days=30))
    history_start = ANCHOR_MS - 30 * DAY
    trips = fleet.trips

    for device in fleet.devices:
        mine = [t for t in trips if t.device is device]
        assert mine, "every device has a trip at the anchor"
        if device.use_type == 0:
            assert len(mine) == 1
            continue
        assert mine[0].actual_end_ms >= history_start
        assert mine[0].actual_begin_ms < history_start + 7 * DAY
        # Back to back: the next trip is listed only once the one before has ended.
        for before, after in itertools.pairwise(mine):
            assert before.actual_end_ms < after.listed_ms <= after.actual_begin_ms
            assert after.actual_begin_ms - before.actual_end_ms < 2 * DAY


def test_trip_ids_grow_with_listing_time_and_decode_back() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, devices=20))

    trips = fleet.trips

    assert [t.trip_id for t in trips] == sorted(t.trip_id for t in trips)
    assert len({t.trip_id for t in trips}) == len(trips)
    minutes = [t.listed_ms // 60_000 for t in trips]
    assert minutes == sorted(minutes)
    assert all(fleet.trip(t.trip_id) == t for t in trips)
    with pytest.raises(UnknownTripError):
        fleet.trip(trips[0].trip_id + 20 * 60 * 24 * 400)


def test_trips_last_hours_to_days_at_five_ten_or_fifteen_minutes(fleet: Fleet) -> None:
    for trip in fleet.trips:
        assert trip.collect_interval_min in (5, 10, 15)
        assert trip.active_time_min in (15, 30, 60)
        assert HOUR <= trip.actual_end_ms - trip.actual_begin_ms <= 6.5 * DAY
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


def test_readings_sit_on_the_interval_grid_and_never_after_what_was_uploaded() -> None:
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
        assert all((ts - trip.actual_begin_ms) % trip.interval_ms == 0 for ts in times)
        assert times == sorted(set(times))
        assert all(ts <= trip.visible_through(now) <= now for ts in times)
        jumps = sum(b - a != trip.interval_ms for a, b in itertools.pairwise(times))
        assert jumps <= len([g for g in trip.gaps if g.probe_type == 0])


def test_reading_windows_include_both_ends(fleet: Fleet) -> None:
    trip = next(t for t in fleet.trips if t.status(ANCHOR_MS) == "end" and not t.gaps)
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
        t
        for t in fleet.trips
        if "gps" in t.device.model.builtin and t.final_upload_ms <= ANCHOR_MS and not t.gaps
    )

    rows = visible(fleet, trip)

    assert abs(rows[0]["latitude"] - trip.origin.latitude) < 0.01
    assert abs(rows[-1]["longitude"] - trip.destination.longitude) < 0.01
    assert all(round(row["latitude"], 6) == row["latitude"] for row in rows)


def test_planted_excursions_are_the_only_out_of_range_runs_besides_sentinels() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, devices=30))
    trips = fleet.trips
    causes = Counter(run.cause for t in trips for run in t.excursions)
    assert set(causes) == {"setpoint", "door-open", "reefer-failure"}

    for trip in trips:
        profile = trip.device.profile
        sentinels = {(s.probe_type, s.ts): s.temperature for s in trip.sentinels}
        for probe_type in trip.probes:
            runs = [run for run in trip.excursions if run.probe_type == probe_type]
            for row in visible(fleet, trip, probe_type):
                run = next((r for r in runs if r.start_ms <= row["ts"] <= r.end_ms), None)
                if (probe_type, row["ts"]) in sentinels:
                    assert row["temperature"] == sentinels[(probe_type, row["ts"])]
                elif run is None:
                    assert profile.low <= row["temperature"] <= profile.high
                elif run.direction == "high":
                    assert row["temperature"] > profile.high
                else:
                    assert row["temperature"] < profile.low
        for run in trip.excursions:
            minutes = (run.end_ms - run.start_ms) / 60_000
            if run.cause == "setpoint":
                assert trip.collect_interval_min <= minutes <= 90
            elif run.cause == "door-open":
                assert run.probe_type == 0 and minutes <= 2 * trip.collect_interval_min
            else:
                assert run.ramp_ms > 0 and run.recovery_ms > 0


def test_sentinels_and_gaps_are_exactly_what_the_rows_show() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, devices=40))
    trips = [t for t in fleet.trips if t.final_upload_ms <= ANCHOR_MS]
    with_gaps = [t for t in trips if t.gaps]
    with_sentinels = [t for t in trips if t.sentinels]
    assert {g.cause for t in with_gaps for g in t.gaps} == {"probe-disconnected", "logger-reset"}
    assert with_sentinels

    for trip in with_gaps:
        step = trip.interval_ms
        for gap in trip.gaps:
            inside = fleet.reading_rows(trip.trip_id, gap.probe_type, gap.start_ms, gap.end_ms)
            around = fleet.reading_rows(
                trip.trip_id, gap.probe_type, gap.start_ms - step, gap.end_ms + step
            )
            assert inside == []
            assert [r["ts"] for r in around] == [gap.start_ms - step, gap.end_ms + step]
    for trip in with_sentinels:
        for sentinel in trip.sentinels:
            rows = fleet.reading_rows(trip.trip_id, sentinel.probe_type, sentinel.ts, sentinel.ts)
            assert [r["temperature"] for r in rows] == [sentinel.temperature]
            assert sentinel.temperature in (-127.0, 85.0, 3276.7, -3276.8)


def test_door_openings_light_the_built_in_sensor_and_frozen_reefers_defrost() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, devices=30))
    trips = fleet.trips
    doors = [
        (t, run)
        for t in trips
        for run in t.excursions
        if run.cause == "door-open" and "light" in t.device.model.builtin
    ]
    frozen = [t for t in trips if t.defrost is not None]
    assert doors and frozen
    assert all(t.device.profile.name == "frozen" for t in frozen)

    for trip, run in doors:
        rows = fleet.reading_rows(trip.trip_id, 0, run.start_ms, run.end_ms)
        assert all(row["light"] >= 150 for row in rows)
    for trip in frozen:
        period, duration, _ = trip.defrost or (0, 0, 0)
        assert 6 * HOUR <= period <= 8 * HOUR and 20 * 60_000 <= duration <= 40 * 60_000


def test_batteries_drain_during_a_trip() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    trip = next(
        t for t in fleet.trips if t.actual_end_ms - t.actual_begin_ms > 2 * DAY and not t.offline
    )
    levels = []

    for hours in (6, 30, 46):
        fleet.clock.set(trip.actual_begin_ms + hours * HOUR)
        row = fleet.device_rows(device_code=trip.device_code)[0]
        levels.append(row["battery"])
        assert row["batteryTime"] <= fleet.clock.now_ms()

    assert levels == sorted(levels, reverse=True) and levels[0] > levels[-1]


def test_interval_override_and_instant_uploads() -> None:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS, interval_min=7, late_uploads=False))

    for trip in fleet.trips:
        assert trip.collect_interval_min == 7 and trip.offline == ()
        recorded = fleet.reading_count(trip.trip_id, 0, *WHOLE_TIME, uploaded=False)
        assert fleet.reading_count(trip.trip_id, 0, *WHOLE_TIME) == recorded


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


def test_a_large_fleet_over_a_year_is_paged_by_arithmetic() -> None:
    fleet = Fleet(FleetConfig(devices=2000, days=365, anchor_ms=ANCHOR_MS, interval_min=5))
    device = fleet.devices[1998]
    trip = fleet.trip_at(device, device.schedule.first_k + 40)

    count = fleet.reading_count(trip.trip_id, 0, *WHOLE_TIME)
    tail = fleet.reading_rows(trip.trip_id, 0, *WHOLE_TIME, offset=count - 3, limit=50)
    counts = fleet.truth_counts(ANCHOR_MS - HOUR, ANCHOR_MS)
    newest = fleet.trip_rows(device_code=device.device_code)

    assert count > 200 and len(tail) == 3
    assert all((r["ts"] - trip.actual_begin_ms) % trip.interval_ms == 0 for r in tail)
    assert tail[-1]["ts"] <= trip.actual_end_ms
    # About 2,000 devices x 12 readings an hour, less the idle ones, plus external probes.
    assert 15_000 < counts["recorded"] < 40_000 and counts["pending"] > 0
    assert len(newest) > 50 and newest[0]["userDeviceTripId"] > newest[-1]["userDeviceTripId"]
