"""The cold-chain models on a real sync: the sandbox plants excursions (setpoint drifts, door
openings, reefer failures), gaps and sentinel readings, and knows every one of them; the
warehouse must find exactly those. Also: the analyst guide's queries run, and a run publishes
while an analyst holds the file open read-write.

One warehouse is built for the module and shared by the xdist workers (the first to take the
lock builds it); tests that run the pipeline again work on a copy.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from freshliance_pipeline.assets.dbt import DBT_PROJECT_DIR
from freshliance_pipeline.runner import run_sync
from freshliance_pipeline.sandbox import Fleet, FleetConfig
from freshliance_pipeline.warehouse import plan_build
from freshliance_pipeline_tests.conftest import point_pipeline_at, served
from freshliance_pipeline_tests.truth import anchor_day, day_ms

DOCS = Path(__file__).resolve().parents[1] / "docs" / "analysts.md"
# A world with every kind of planted excursion, two sentinels and gaps in its last week.
SEED, DEVICES, DAYS = 5, 8, 10
DAY_MS = 86_400_000
# What loggers send instead of a temperature (the dbt var temperature_sentinels_c holds these).
SENTINELS = {-127.0, 85.0, 3276.7, -3276.8}
READING_COLUMNS = (
    "trip_id, device_code, probe_type, reading_at, raw_temperature_c, temperature_c, "
    "is_temperature_sentinel, humidity_pct, light_lux, shock_level, latitude, longitude"
)


@dataclass(frozen=True)
class Built:
    """A data folder synced from the world ``config`` over ``start``..``end``."""

    data_dir: Path
    config: FleetConfig
    start: date
    end: date

    @property
    def analytics(self) -> Path:
        return self.data_dir / "analytics.duckdb"

    @property
    def fleet(self) -> Fleet:
        return Fleet(self.config)


def _world(anchor_ms: int) -> FleetConfig:
    return FleetConfig(seed=SEED, devices=DEVICES, days=DAYS, anchor_ms=anchor_ms)


def _anchor_day(config: FleetConfig) -> date:
    return anchor_day(Fleet(config))


def _sync(config: FleetConfig, data_dir: Path, start: date, end: date) -> None:
    with served(config) as gateway, pytest.MonkeyPatch.context() as env:
        point_pipeline_at(env, gateway, data_dir)
        outcome = run_sync(start, end, log_level="WARNING")
    assert outcome.success, outcome.errors


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the session's; share that parent.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The last week but one day of the world, synced once; read it, never write it."""
    root = _shared_root(tmp_path_factory) / "analytics-warehouse"
    root.mkdir(exist_ok=True)
    marker = root / "built.json"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            config = FleetConfig(seed=SEED, devices=DEVICES, days=DAYS)
            anchor = _anchor_day(config)
            _sync(config, root / "data", anchor - timedelta(days=7), anchor - timedelta(days=2))
            marker.write_text(json.dumps({"anchor_ms": config.anchor}))
    config = _world(int(json.loads(marker.read_text())["anchor_ms"]))
    anchor = _anchor_day(config)
    return Built(root / "data", config, anchor - timedelta(days=7), anchor - timedelta(days=2))


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def _truth(built: Built, end: date | None = None) -> list[dict[str, Any]]:
    stop = day_ms((end or built.end) + timedelta(days=1)) - 1
    return built.fleet.ground_truth(day_ms(built.start), stop)


def _expected_readings(truth: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for r in truth:
        sentinel = r["temperature"] in SENTINELS
        rows.append(
            (
                r["userDeviceTripId"],
                r["deviceCode"],
                r["probeType"],
                datetime.fromtimestamp(r["ts"] / 1000, tz=UTC),
                r["temperature"],
                None if sentinel else r["temperature"],
                sentinel,
                r["humidity"],
                r["light"],
                r["shock"],
                r["latitude"],
                r["longitude"],
            )
        )
    return sorted(rows, key=lambda row: (row[0], row[2], row[3]))


def _warehouse_readings(path: Path) -> list[tuple[Any, ...]]:
    return _query(
        path, f"select {READING_COLUMNS} from fct_readings order by trip_id, probe_type, reading_at"
    )


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_readings_equal_the_ground_truth_with_sentinels_nulled_and_flagged(built: Built) -> None:
    expected = _expected_readings(_truth(built))

    rows = _warehouse_readings(built.analytics)

    assert sum(1 for row in expected if row[6]) >= 1  # the world holds a sentinel to null
    assert rows == expected


def test_every_trip_has_a_summary_and_every_sandbox_good_has_a_profile(built: Built) -> None:
    missing = _query(
        built.analytics,
        "select count(*) from dim_trips left join fct_trip_summary using (trip_id)"
        " where fct_trip_summary.trip_id is null",
    )
    sources = _query(
        built.analytics,
        "select alarm_profile_source, count(*) from dim_trips group by all order by all",
    )
    probes_with_readings = _query(
        built.analytics,
        "select count(*) from (select distinct trip_id, probe_type from fct_readings)"
        " anti join fct_trip_summary using (trip_id, probe_type)",
    )
    waiting = _query(
        built.analytics,
        "select count(*), count(reading_count), count(verdict) from fct_trip_summary"
        " where not has_readings",
    )

    assert missing == [(0,)]
    assert [source for source, _ in sources] == ["goods_name"]
    assert probes_with_readings == [(0,)]
    (rows, counted, judged) = waiting[0]
    assert rows >= 1 and counted == 0 and judged == 0  # a waiting trip: a row, no statistics


def test_the_planted_excursions_are_found_within_one_logging_interval(built: Built) -> None:
    """Every excursion the sandbox planted whose readings (and the one after) were synced is
    found with its direction, starting and ending within one logging interval; nothing else is
    found, sentinels included."""
    visible: dict[tuple[int, int], set[int]] = {}
    for r in _truth(built):
        visible.setdefault((r["userDeviceTripId"], r["probeType"]), set()).add(r["ts"])
    planted = []
    for trip in built.fleet.trips:
        step = trip.collect_interval_min * 60_000
        for run in trip.excursions:
            seen = visible.get((trip.trip_id, run.probe_type), set())
            if set(range(run.start_ms, run.end_ms + step + 1, step)) <= seen:
                planted.append((trip.trip_id, run, step))
    found = _query(
        built.analytics,
        "select trip_id, probe_type, direction, epoch_ms(started_at), epoch_ms(ended_at)"
        " from fct_excursions order by all",
    )

    assert len(planted) >= 10
    assert {run.cause for _, run, _ in planted} >= {"setpoint", "door-open"}
    for trip_id, run, step in planted:
        matches = [
            f
            for f in found
            if f[:3] == (trip_id, run.probe_type, run.direction)
            and abs(f[3] - run.start_ms) <= step
            and abs(f[4] - run.end_ms) <= step
        ]
        assert len(matches) == 1, (trip_id, run, [f for f in found if f[0] == trip_id])
    every_run = {
        (trip.trip_id, run.probe_type, run.direction, run.start_ms, run.end_ms)
        for trip in built.fleet.trips
        for run in trip.excursions
    }
    for trip_id, probe_type, direction, started, ended in found:
        # A run cut by the synced window's edge may be shorter than planted, never elsewhere.
        assert any(
            (t, p, d) == (trip_id, probe_type, direction) and s <= ended and started <= e
            for t, p, d, s, e in every_run
        ), (trip_id, probe_type, direction, _utc(started), _utc(ended))


def test_verdicts_follow_the_planted_excursions(built: Built) -> None:
    verdicts = dict(
        ((trip_id, probe), verdict)
        for trip_id, probe, verdict in _query(
            built.analytics,
            "select trip_id, probe_type, verdict from fct_trip_summary where verdict is not null",
        )
    )
    start, stop = day_ms(built.start), day_ms(built.end + timedelta(days=1))
    with_excursion = {
        (trip.trip_id, run.probe_type)
        for trip in built.fleet.trips
        for run in trip.excursions
        if run.start_ms < stop and run.end_ms >= start
    }

    assert set(verdicts.values()) == {"pass", "fail"}
    for key, verdict in verdicts.items():
        assert verdict == ("fail" if key in with_excursion else "pass"), key


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)


def test_the_analyst_guides_eleven_queries_run(built: Built) -> None:
    queries = _doc_queries()

    results = [_query(built.analytics, sql) for sql in queries]

    assert len(queries) == 11
    # The failed shipments, worst excursions, MKT by lane and report card have data here, and
    # the planted sentinels are among the rejects.
    assert all(results[i] for i in (0, 1, 3, 4, 10)), [len(r) for r in results]
    assert {row[1] for row in results[10]} == {"temperature_sentinel"}


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write, as an analyst's CLI session may be
con.execute("create table my_notes as select 42 as answer")  # leaves a write-ahead log
print(con.execute("select count(*) from fct_readings").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from fct_readings").fetchone()[0], flush=True)
con.close()
"""


def test_a_run_publishes_while_an_analyst_holds_the_file_open_read_write(
    built: Built, tmp_path: Path
) -> None:
    """The held file neither blocks the run nor changes under the holder; reopening shows the
    new day, and fct_readings, rebuilt incrementally, equals the ground truth of the range."""
    data_dir = tmp_path / "data"
    shutil.copytree(built.data_dir, data_dir, copy_function=shutil.copy2)
    end = built.end + timedelta(days=1)
    plan = plan_build(data_dir / "warehouse.duckdb", data_dir / "lake", DBT_PROJECT_DIR)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir / "analytics.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        before = int(holder.stdout.readline())

        _sync(built.config, data_dir, built.start, end)

        holder.stdin.write("\n")
        holder.stdin.flush()
        held = int(holder.stdout.readline())
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    expected = _expected_readings(_truth(built, end))
    rows = _warehouse_readings(data_dir / "analytics.duckdb")

    assert (plan.full_refresh, plan.reading_dates) == (False, ())  # the copy is up to date
    assert holder.returncode == 0
    assert held == before  # the holder kept its snapshot of the old file
    assert len(rows) > before
    assert rows == expected
