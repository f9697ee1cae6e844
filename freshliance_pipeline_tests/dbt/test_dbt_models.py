"""`dbt build` over a small hand-made lake, then exact checks of the warehouse it wrote.

The lake holds two snapshot days (a device's battery changes between them, one device leaves
the account, one trip ends), two trips whose readings span two reading_date partitions, one of
them with built-in readings only, and a reading fetched twice with different values. The build
runs the unit tests too (MKT, weights and gaps, excursion rules, dedup); fct_readings' day by
day incremental rebuild and `dbt docs generate` run on copies of the result.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner

from freshliance_pipeline.lake.schemas import DATASETS
from freshliance_pipeline.lake.writer import to_table, write_partition

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

DAY_1 = "2025-03-01"
DAY_2 = "2025-03-02"

Row = dict[str, object]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SNAPSHOT_1_AT = _utc("2025-03-01 06:00")
SNAPSHOT_2_AT = _utc("2025-03-02 06:00")

# Numbering used below: device 10N has code 25070000NT and runs trip 200N.


def _device(device_id: int, battery: int, battery_at: str, fetched_at: datetime) -> Row:
    return {
        "userDeviceId": device_id,
        "userDeviceTripId": 2000 + device_id - 100,
        "deviceCode": f"25070000{device_id - 100}T",
        "useType": 1,
        "bindTime": _utc("2025-01-15 08:00"),
        "battery": battery,
        "batteryTime": _utc(battery_at),
        "customName": f"Tracker {device_id}",
        "latitude": 31.2304,
        "longitude": 121.4737,
        "_fetched_at": fetched_at,
    }


def _trip(trip_id: int, status: str, actual_end: str | None, fetched_at: datetime) -> Row:
    device_id = trip_id - 1900
    begins = {2001: "2025-03-01 23:45", 2002: "2025-03-01 11:55"}
    return {
        "userDeviceId": device_id,
        "userDeviceTripId": trip_id,
        "deviceCode": f"25070000{device_id - 100}T",
        "tripStatus": status,
        "tripCode": f"WB-{trip_id}",
        "goodsName": "orange",
        "carrier": "A",
        "consignee": "B",
        "beginRoute": "Shanghai",
        "endRoute": "New York",
        "expectedBeginTime": _utc("2025-03-01 11:00"),
        "expectedEndTime": _utc("2025-03-03 00:00"),
        "actualBeginTime": _utc(begins[trip_id]),
        "actualEndTime": _utc(actual_end) if actual_end else None,
        "_fetched_at": fetched_at,
    }


def _reading(trip_id: int, probe_type: int, ts: str, temperature: float, fetched_at: str) -> Row:
    built_in = probe_type == 0
    return {
        "userDeviceTripId": trip_id,
        "deviceCode": f"25070000{trip_id - 2000}T",
        "probeType": probe_type,
        "ts": _utc(ts),
        "temperature": temperature,
        "humidity": 40.0 if built_in else None,
        "light": 1.5 if built_in else None,
        "shock": 0 if built_in else None,
        "latitude": 31.2304,
        "longitude": 121.4737,
        "_fetched_at": _utc(fetched_at),
    }


# (dataset, partition value) -> rows. Every dataset gets a partition: dbt reads them all.
LAKE: Mapping[tuple[str, str], Sequence[Row]] = {
    ("account", DAY_1): [
        {"email": "ops@example.com", "temperatureUnit": 1, "_fetched_at": SNAPSHOT_1_AT}
    ],
    ("account", DAY_2): [
        {"email": "ops@example.com", "temperatureUnit": 1, "_fetched_at": SNAPSHOT_2_AT}
    ],
    ("devices", DAY_1): [
        _device(101, 80, "2025-03-01 05:00", SNAPSHOT_1_AT),
        _device(102, 95, "2025-03-01 05:00", SNAPSHOT_1_AT),
        _device(103, 50, "2025-03-01 05:00", SNAPSHOT_1_AT),
    ],
    ("devices", DAY_2): [
        # Device 101 read twice on day 2: the 06:00 fetch (battery 72) must win over 05:00.
        _device(101, 72, "2025-03-02 05:30", SNAPSHOT_2_AT),
        _device(101, 75, "2025-03-02 04:00", _utc("2025-03-02 05:00")),
        _device(102, 94, "2025-03-02 05:30", SNAPSHOT_2_AT),
    ],
    ("device_groups", DAY_2): [
        {"userGroupId": 7, "groupName": "Reefers", "parentId": 0, "_fetched_at": SNAPSHOT_2_AT}
    ],
    ("group_devices", DAY_2): [
        {
            "userGroupId": 7,
            "userGroupDeviceId": 70,
            "userDeviceId": 101,
            "deviceCode": "250700001T",
            "tripStatus": "end",
            "alarmFlag": 0,
            "deviceStatus": "online",
            "_fetched_at": SNAPSHOT_2_AT,
        }
    ],
    ("config_templates", DAY_2): [
        {
            "tripConfigTemplateId": 45233,
            "templateName": "chilled",
            "collectInterval": 5,
            "gpsFlag": 1,
            "phoneList": '[{"areaCode":"+86","phone":"123456789"}]',
            "_fetched_at": SNAPSHOT_2_AT,
        }
    ],
    ("trips", DAY_1): [
        _trip(2001, "ing", None, SNAPSHOT_1_AT),
        _trip(2002, "ing", None, SNAPSHOT_1_AT),
    ],
    ("trips", DAY_2): [
        _trip(2001, "end", "2025-03-02 00:10", SNAPSHOT_2_AT),
        _trip(2002, "ing", None, SNAPSHOT_2_AT),
    ],
    ("readings", DAY_1): [
        _reading(2001, 0, "2025-03-01 23:50", 4.0, "2025-03-02 00:30"),
        _reading(2001, 0, "2025-03-01 23:55", 5.0, "2025-03-02 00:30"),
        _reading(2001, 1, "2025-03-01 23:50", 3.0, "2025-03-02 00:30"),
        # Fetched twice: the later fetch (6.5) must win although the earlier one comes last.
        _reading(2002, 0, "2025-03-01 12:00", 6.5, "2025-03-02 00:30"),
        _reading(2002, 0, "2025-03-01 12:00", 9.9, "2025-03-01 13:00"),
    ],
    ("readings", DAY_2): [
        _reading(2001, 0, "2025-03-02 00:05", 7.0, "2025-03-02 06:00"),
        _reading(2001, 1, "2025-03-02 00:05", 2.0, "2025-03-02 06:00"),
        _reading(2002, 0, "2025-03-02 01:00", 8.0, "2025-03-02 06:00"),
    ],
    # Written by every sync for each day it covers, even with no rejects.
    ("rejected/readings", DAY_1): [],
}


@dataclass(frozen=True)
class Build:
    warehouse: Path
    statuses: Mapping[str, str]


def _write_lake(lake_dir: Path) -> None:
    for (name, value), rows in LAKE.items():
        dataset = DATASETS[name]
        write_partition(lake_dir, dataset, value, to_table(pd.DataFrame(rows), dataset))


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB instance open after an in-process run (keep_open defaults to
    true); close it so this process can reopen the file read-only."""
    # dbt-duckdb's connection manager is untyped, hence the ignores.
    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # no environment was created: dbt failed before connecting
        return
    environment.close()  # type: ignore[no-untyped-call]
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]


def _dbt(data_dir: Path, *args: str) -> RunExecutionResult | None:
    """Run dbt in-process on ``data_dir``; the result of a build or run, None for others."""
    paths = [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(data_dir / "dbt_target"),
        "--log-path", str(data_dir / "dbt_logs"),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FRESHLIANCE_DATA_DIR", str(data_dir))
        env.setenv("DO_NOT_TRACK", "1")
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        try:
            outcome = dbtRunner().invoke([*args, *paths])
        finally:
            _release_warehouse()
    assert outcome.success, f"dbt {args[0]} failed: {outcome.exception or outcome.result}"
    return outcome.result if isinstance(outcome.result, RunExecutionResult) else None


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    data_dir = tmp_path_factory.mktemp("freshliance_data")
    _write_lake(data_dir / "lake")

    result = _dbt(data_dir, "build")

    assert result is not None
    statuses = {r.node.unique_id: str(r.status) for r in result.results}
    yield Build(warehouse=data_dir / "warehouse.duckdb", statuses=statuses)


def _query(build: Build, sql: str) -> list[tuple[object, ...]]:
    return _query_at(build.warehouse.parent, sql)


def _query_at(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def test_every_model_and_test_passes_without_warnings(build: Build) -> None:
    """Clean data must not trip even the warn-level tests."""
    failing = {node: s for node, s in build.statuses.items() if s not in ("success", "pass")}

    assert failing == {}
    assert {
        f"model.freshliance.{name}"
        for name in ("fct_trip_summary", "fct_excursions", "fct_device_daily", "dim_trips")
    } <= set(build.statuses)
    assert any(node.startswith("test.freshliance.unique_combination") for node in build.statuses)


def test_the_unit_tests_ran_and_passed(build: Build) -> None:
    unit_tests = {n: s for n, s in build.statuses.items() if n.startswith("unit_test.")}

    assert {name.rsplit(".", 1)[-1] for name in unit_tests} >= {
        "fct_trip_summary_mkt_of_five_equally_spaced_readings",
        "fct_trip_summary_times_with_irregular_steps_and_a_gap",
        "int_readings_weighted_irregular_steps_and_a_gap_of_three_intervals",
        "fct_excursions_alarm_delay",
        "fct_excursions_hysteresis",
        "fct_excursions_cumulative_mode",
        "stg_freshliance__readings_dedups_and_nulls_sentinels",
    }
    assert set(unit_tests.values()) == {"pass"}


def test_fct_readings_column_types(build: Build) -> None:
    rows = _query(
        build,
        "select column_name, data_type from information_schema.columns"
        " where table_name = 'fct_readings'",
    )
    types = {str(name): str(data_type) for name, data_type in rows}

    assert types["trip_id"] == "BIGINT"
    assert types["device_code"] == "VARCHAR"
    assert types["probe_type"] == "INTEGER"
    assert types["reading_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["reading_date"] == "DATE"
    for measure in ("temperature_c", "humidity_pct", "light_lux", "latitude", "longitude"):
        assert types[measure] == "DOUBLE", measure


def test_fct_readings_rows(build: Build) -> None:
    """One row per (trip, probe, time) across both partitions; the duplicate collapses."""
    rows = _query(
        build,
        "select trip_id, device_id, device_code, probe_type, reading_at, reading_date,"
        " temperature_c, humidity_pct, light_lux, shock_level, latitude, longitude"
        " from fct_readings order by trip_id, probe_type, reading_at",
    )

    d1, d2 = date(2025, 3, 1), date(2025, 3, 2)
    built_in = (40.0, 1.5, 0, 31.2304, 121.4737)
    external = (None, None, None, 31.2304, 121.4737)
    code_1, code_2 = "250700001T", "250700002T"
    assert rows == [
        (2001, 101, code_1, 0, _utc("2025-03-01 23:50"), d1, 4.0, *built_in),
        (2001, 101, code_1, 0, _utc("2025-03-01 23:55"), d1, 5.0, *built_in),
        (2001, 101, code_1, 0, _utc("2025-03-02 00:05"), d2, 7.0, *built_in),
        (2001, 101, code_1, 1, _utc("2025-03-01 23:50"), d1, 3.0, *external),
        (2001, 101, code_1, 1, _utc("2025-03-02 00:05"), d2, 2.0, *external),
        (2002, 102, code_2, 0, _utc("2025-03-01 12:00"), d1, 6.5, *built_in),
        (2002, 102, code_2, 0, _utc("2025-03-02 01:00"), d2, 8.0, *built_in),
    ]


def test_reading_fetched_twice_keeps_the_later_fetch_and_counts_the_conflict(build: Build) -> None:
    rows = _query(
        build,
        "select temperature_c, fetched_at, first_fetched_at, fetch_count, has_conflicting_fetches"
        " from fct_readings where trip_id = 2002 and reading_at = '2025-03-01 12:00:00+00'",
    )
    conflicts = _query(
        build,
        "select trip_id, probe_type, conflicting_reading_count from fct_trip_summary order by all",
    )

    assert rows == [(6.5, _utc("2025-03-02 00:30"), _utc("2025-03-01 13:00"), 2, True)]
    assert conflicts == [(2001, 0, 0), (2001, 1, 0), (2002, 0, 1)]


def test_trips_get_their_profile_from_the_goods_name(build: Build) -> None:
    rows = _query(
        build,
        "select trip_id, alarm_profile, alarm_profile_source, alarm_profile_pattern, lane"
        " from dim_trips order by trip_id",
    )

    assert rows == [
        (2001, "produce", "goods_name", "%orange%", "Shanghai -> New York"),
        (2002, "produce", "goods_name", "%orange%", "Shanghai -> New York"),
    ]


def test_excursions_and_verdicts_against_the_produce_limits(build: Build) -> None:
    """Produce is 0 to 4 degC with no delay. Trip 2001's built-in sensor reads 4, 5 (23:55)
    and 7 (00:05, after a 10-minute step, two intervals of 5 minutes: no gap), so it is out
    from 23:55 to the end of its last interval, 00:10; its probe reads 3 and 2: pass. Trip
    2002 logs 6.5 and 8: out for its whole series."""
    excursions = _query(
        build,
        "select trip_id, probe_type, direction, started_at, ended_at, duration_s,"
        " peak_temperature_c from fct_excursions order by all",
    )
    verdicts = _query(
        build,
        "select trip_id, probe_type, excursion_count, time_in_range_s, time_above_s, verdict"
        " from fct_trip_summary order by all",
    )

    assert excursions == [
        (2001, 0, "high", _utc("2025-03-01 23:55"), _utc("2025-03-02 00:10"), 900.0, 7.0),
        (2002, 0, "high", _utc("2025-03-01 12:00"), _utc("2025-03-02 14:00"), 93600.0, 8.0),
    ]
    assert verdicts == [
        (2001, 0, 1, 300.0, 900.0, "fail"),
        (2001, 1, 0, 600.0, 0.0, "pass"),
        (2002, 0, 1, 0.0, 93600.0, "fail"),
    ]


def _lake_copy(build: Build, tmp_path: Path) -> Path:
    """A copy of the data folder. Its staging views still read the original lake (they hold
    the absolute path) until they are rebuilt."""
    data_dir = tmp_path / "data"
    shutil.copytree(build.warehouse.parent, data_dir)
    return data_dir


def test_fct_readings_rebuilds_exactly_the_days_asked_for(build: Build, tmp_path: Path) -> None:
    """Both days change in the lake, but a run for 2025-03-02 replaces that day only: its
    changed reading and its dropped one. A run without reading_dates replaces every day."""
    data_dir = _lake_copy(build, tmp_path)
    rows = dict(LAKE)
    rows["readings", DAY_1] = [
        _reading(2001, 0, "2025-03-01 23:50", 4.5, "2025-03-03 00:30"),
        *LAKE["readings", DAY_1][1:],
    ]
    rows["readings", DAY_2] = [_reading(2001, 0, "2025-03-02 00:05", 7.5, "2025-03-03 06:00")]
    dataset = DATASETS["readings"]
    for day in (DAY_1, DAY_2):
        frame = pd.DataFrame(rows["readings", day])
        write_partition(data_dir / "lake", dataset, day, to_table(frame, dataset))
    sql = "select reading_date, trip_id, probe_type, temperature_c from fct_readings order by all"
    day_1_before = [r for r in _query_at(data_dir, sql) if r[0] == date(2025, 3, 1)]

    _dbt(
        data_dir,
        "run",
        "--select",
        "stg_freshliance__readings",
        "fct_readings",
        "--vars",
        json.dumps({"reading_dates": [DAY_2]}),
    )
    one_day = _query_at(data_dir, sql)
    _dbt(data_dir, "run", "--select", "stg_freshliance__readings", "fct_readings")
    every_day = _query_at(data_dir, sql)

    d1, d2 = date(2025, 3, 1), date(2025, 3, 2)
    assert one_day == [*day_1_before, (d2, 2001, 0, 7.5)]
    assert every_day == [
        (d1, 2001, 0, 4.5),
        (d1, 2001, 0, 5.0),
        (d1, 2001, 1, 3.0),
        (d1, 2002, 0, 6.5),
        (d2, 2001, 0, 7.5),
    ]


def test_dbt_docs_generate_works(build: Build, tmp_path: Path) -> None:
    data_dir = _lake_copy(build, tmp_path)

    _dbt(data_dir, "docs", "generate")

    catalog = json.loads((data_dir / "dbt_target" / "catalog.json").read_text())
    assert "model.freshliance.fct_excursions" in catalog["nodes"]


def test_fct_trip_summary_per_trip_and_probe(build: Build) -> None:
    """Trip 2002 has built-in readings only, so it has no external-probe row."""
    rows = _query(
        build,
        "select trip_id, probe_type, device_code, trip_status, reading_count,"
        " first_reading_at, last_reading_at, min_temperature_c, max_temperature_c,"
        " round(mean_temperature_c, 6) from fct_trip_summary order by trip_id, probe_type",
    )

    first, last = _utc("2025-03-01 23:50"), _utc("2025-03-02 00:05")
    assert rows == [
        (2001, 0, "250700001T", "end", 3, first, last, 4.0, 7.0, round(16 / 3, 6)),
        (2001, 1, "250700001T", "end", 2, first, last, 2.0, 3.0, 2.5),
        (2002, 0, "250700002T", "ing", 2, _utc("2025-03-01 12:00"), _utc("2025-03-02 01:00"),
         6.5, 8.0, 7.25),
    ]  # fmt: skip


def test_dim_devices_latest_state_and_first_last_seen(build: Build) -> None:
    rows = _query(
        build,
        "select device_id, battery_pct, battery_at, first_seen_at, last_seen_at,"
        " snapshot_count, is_current from dim_devices order by device_id",
    )

    assert rows == [
        (101, 72, _utc("2025-03-02 05:30"), SNAPSHOT_1_AT, SNAPSHOT_2_AT, 2, True),
        (102, 94, _utc("2025-03-02 05:30"), SNAPSHOT_1_AT, SNAPSHOT_2_AT, 2, True),
        (103, 50, _utc("2025-03-01 05:00"), SNAPSHOT_1_AT, SNAPSHOT_1_AT, 1, False),
    ]


def test_dim_trips_latest_status_and_times(build: Build) -> None:
    rows = _query(
        build,
        "select trip_id, device_id, trip_status, is_ended, actual_begin_at, actual_end_at,"
        " begin_delay_min, first_seen_at, last_seen_at from dim_trips order by trip_id",
    )

    assert rows == [
        (2001, 101, "end", True, _utc("2025-03-01 23:45"), _utc("2025-03-02 00:10"),
         765.0, SNAPSHOT_1_AT, SNAPSHOT_2_AT),
        (2002, 102, "ing", False, _utc("2025-03-01 11:55"), None,
         55.0, SNAPSHOT_1_AT, SNAPSHOT_2_AT),
    ]  # fmt: skip
