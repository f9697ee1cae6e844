"""The readings screen: which rows the lake refuses, why, and what it keeps of them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from freshliance_pipeline import normalize
from freshliance_pipeline.normalize import screen_readings

ROOT = Path(__file__).resolve().parents[1]
BEGIN = 1_764_720_000_000  # 2025-12-03T00:00Z
END = BEGIN + 86_400_000 - 1
NOW = END + 1


def screen(*rows: dict[str, Any]) -> normalize.Screened:
    return screen_readings(rows, begin_ms=BEGIN, end_ms=END, now_ms=NOW)


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (None, "ts_missing"),
        ("soon", "ts_unreadable"),
        (12.5, "ts_unreadable"),
        (BEGIN // 1000, "ts_in_seconds"),
        (946_684_799_999, "ts_before_2000"),
        (0, "ts_before_2000"),
        (NOW + 86_400_001, "ts_in_future"),
        (BEGIN - 1, "ts_outside_window"),
        (END + 1, "ts_outside_window"),
    ],
)
def test_a_row_whose_time_is_unusable_is_only_among_the_rejects(ts: Any, reason: str) -> None:
    row = {"temperature": 4.0} if ts is None else {"ts": ts, "temperature": 4.0}

    result = screen(row, {"ts": BEGIN, "temperature": 5.0})

    assert result.kept == [{"ts": BEGIN, "temperature": 5.0}]
    [reject] = result.rejects
    assert reject.reasons == (reason,)
    assert reject.ts_ms is None
    assert not reject.in_readings
    assert reject.row == row
    assert reject.details[0]  # says which value failed


def test_a_time_in_seconds_is_named_as_such() -> None:
    [reject] = screen({"ts": BEGIN // 1000, "temperature": 4.0}).rejects

    assert reject.details == (f"ts {BEGIN // 1000} reads as seconds (2025-12-03T00:00:00+00:00)",)


def test_window_bounds_are_inclusive_and_longs_as_strings_are_times() -> None:
    result = screen({"ts": BEGIN, "temperature": 1.0}, {"ts": str(END), "temperature": 2.0})

    assert len(result.kept) == 2
    assert result.rejects == []


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("temperature", -127.0, "temperature_sentinel"),
        ("temperature", 85.0, "temperature_sentinel"),
        ("temperature", 3276.7, "temperature_sentinel"),
        ("temperature", 200.5, "temperature_out_of_range"),
        ("temperature", -200.1, "temperature_out_of_range"),
        ("temperature", "--", "temperature_unreadable"),
        ("temperature", "NaN", "temperature_unreadable"),
        ("latitude", 91.5, "latitude_out_of_range"),
        ("latitude", -90.01, "latitude_out_of_range"),
        ("longitude", 181.25, "longitude_out_of_range"),
        ("humidity", "wet", "humidity_unreadable"),
        ("shock", 1.5, "shock_unreadable"),
    ],
)
def test_an_untrusted_value_is_nulled_and_its_row_kept_as_sent(
    field: str, value: Any, reason: str
) -> None:
    row = {"ts": BEGIN, "temperature": 4.0, "humidity": 50.0, "latitude": 31.2, "longitude": 121.4}
    row[field] = value

    result = screen(row)

    assert result.kept == [{**row, field: None}]
    [reject] = result.rejects
    assert reject.reasons == (reason,)
    assert reject.in_readings
    assert reject.ts_ms == BEGIN
    assert reject.row == row


def test_values_at_the_limits_and_numeric_strings_are_trusted() -> None:
    rows: list[dict[str, Any]] = [
        {"ts": BEGIN, "temperature": -200.0, "latitude": -90.0, "longitude": 180.0},
        {"ts": BEGIN + 1, "temperature": "200", "humidity": "55.5", "shock": "2"},
        {"ts": BEGIN + 2, "temperature": -126.9, "shock": 3.0},
    ]

    result = screen(*rows)

    assert result.kept == rows
    assert result.rejects == []


def test_identical_copies_are_one_row_and_different_versions_are_all_rejected() -> None:
    first, other = {"ts": BEGIN, "temperature": 4.0}, {"ts": BEGIN, "temperature": 9.0}
    third = {"ts": BEGIN + 300_000, "temperature": 5.0}

    result = screen(first, third, first, other, third)

    assert result.kept == [third]
    assert [r.row for r in result.rejects] == [first, other]
    for reject in result.rejects:
        assert reject.reasons == ("conflicting_duplicate",)
        assert reject.ts_ms == BEGIN
        assert not reject.in_readings


def test_every_failed_check_of_a_row_is_named() -> None:
    row = {"ts": END + 1, "temperature": 3276.7, "latitude": 95.0}

    [reject] = screen(row).rejects

    assert reject.reasons == ("ts_outside_window", "temperature_sentinel", "latitude_out_of_range")
    assert not reject.in_readings


def test_rejects_become_rows_of_the_rejected_dataset() -> None:
    result = screen({"ts": BEGIN, "temperature": 85.0}, {"ts": "x"})
    fetched = datetime(2025, 12, 4, tzinfo=UTC)

    frame = normalize.rejected_readings(
        result.rejects, trip_id=7, device_code="A1", probe_type=1, fetched_at=fetched
    )

    assert frame.to_dict("records") == [
        {
            "userDeviceTripId": 7,
            "deviceCode": "A1",
            "probeType": 1,
            "ts": datetime(2025, 12, 3, tzinfo=UTC),
            "reason": "temperature_sentinel",
            "detail": "temperature 85.0 is a logger's no-value sentinel",
            "inReadings": True,
            "rawRow": '{"temperature":85.0,"ts":1764720000000}',
            "_fetched_at": fetched,
        },
        {
            "userDeviceTripId": 7,
            "deviceCode": "A1",
            "probeType": 1,
            "ts": frame["ts"].iloc[1],
            "reason": "ts_unreadable",
            "detail": "ts 'x' is not epoch milliseconds",
            "inReadings": False,
            "rawRow": '{"ts":"x"}',
            "_fetched_at": fetched,
        },
    ]
    assert frame["ts"].isna().tolist() == [False, True]


def test_the_sentinels_are_the_warehouse_ones() -> None:
    project = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())

    listed = {float(v) for v in project["vars"]["temperature_sentinels_c"]}

    assert listed == normalize.TEMPERATURE_SENTINELS_C
