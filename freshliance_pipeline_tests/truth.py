"""Ground truth from the sandbox and the rows the warehouse holds, in one comparable shape."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import partition_values, read_partition
from freshliance_pipeline.sandbox import Fleet

# raw_temperature_c is the value the gateway sent; temperature_c nulls the sentinels real
# loggers emit (-127 and the like, which the sandbox plants), see test_analytics_warehouse.
# The lake stores those readings with the temperature null and the row as sent among the
# rejects, from which the warehouse takes raw_temperature_c.
COLUMNS = (
    "trip_id, device_code, probe_type, reading_at, raw_temperature_c, humidity_pct, light_lux, "
    "shock_level, latitude, longitude"
)


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def anchor_day(fleet: Fleet) -> date:
    return datetime.fromtimestamp(fleet.anchor_ms / 1000, tz=UTC).date()


def expected_rows(fleet: Fleet, start: date, end: date) -> list[tuple[Any, ...]]:
    """Every reading visible now in the UTC days ``start``..``end``, as fct_readings rows."""
    truth = fleet.ground_truth(day_ms(start), day_ms(end + timedelta(days=1)) - 1)
    rows = [
        (
            r["userDeviceTripId"],
            r["deviceCode"],
            r["probeType"],
            datetime.fromtimestamp(r["ts"] / 1000, tz=UTC),
            r["temperature"],
            r["humidity"],
            r["light"],
            r["shock"],
            r["latitude"],
            r["longitude"],
        )
        for r in truth
    ]
    return sorted(rows, key=lambda row: (row[0], row[2], row[3]))


def warehouse_rows(analytics: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(analytics), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(
            f"select {COLUMNS} from fct_readings order by trip_id, probe_type, reading_at"
        ).fetchall()


LAKE_FIELDS = (
    *("userDeviceTripId", "deviceCode", "probeType", "ts", "temperature", "humidity"),
    *("light", "shock", "latitude", "longitude"),
)


def lake_truth(fleet: Fleet, start: date, end: date) -> list[tuple[Any, ...]]:
    """What the readings dataset must hold for the days (ts in epoch ms): every visible
    reading, a planted sentinel's temperature null."""
    truth = fleet.ground_truth(day_ms(start), day_ms(end + timedelta(days=1)) - 1)
    sentinels = {
        (trip.trip_id, s.probe_type, s.ts)
        for trip in map(fleet.trip, {r["userDeviceTripId"] for r in truth})
        for s in trip.sentinels
    }
    rows = []
    for r in truth:
        row = dict(r)
        if (r["userDeviceTripId"], r["probeType"], r["ts"]) in sentinels:
            row["temperature"] = None
        rows.append(tuple(row[k] for k in LAKE_FIELDS))
    return rows


def lake_rows(lake_dir: Path) -> list[tuple[Any, ...]]:
    """Every readings row of every partition, in lake_truth's shape."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    rows = []
    for day in partition_values(lake_dir, schemas.READINGS):
        table = read_partition(lake_dir, schemas.READINGS, day)
        if table is None:
            continue
        for r in table.to_pylist():
            r["ts"] = (r["ts"].replace(tzinfo=UTC) - epoch) // timedelta(milliseconds=1)
            rows.append(tuple(r[k] for k in LAKE_FIELDS))
    return rows
