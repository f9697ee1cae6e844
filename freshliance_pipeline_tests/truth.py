"""Ground truth from the sandbox and the rows the warehouse holds, in one comparable shape."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from freshliance_pipeline.sandbox import Fleet

# raw_temperature_c is the value the gateway sent; temperature_c nulls the sentinels real
# loggers emit (-127 and the like, which the sandbox plants), see test_analytics_warehouse.
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
