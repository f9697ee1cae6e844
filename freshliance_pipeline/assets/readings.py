"""Trip readings, partitioned by UTC day of the reading time."""

import os
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from freshliance_pipeline import normalize
from freshliance_pipeline.assets._common import API_POOL, GROUP, utc_now
from freshliance_pipeline.assets.snapshots import freshliance_trips
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import latest_partition, to_table, write_partition
from freshliance_pipeline.resources import FreshlianceResource, LakeResource
from freshliance_pipeline.windows import PROBE_TYPES, plan_trip_windows, to_ms

# The first day a backfill can reach; override for accounts with older trips.
PARTITIONS_START = os.environ.get("FRESHLIANCE_PARTITIONS_START", "2025-01-01")

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone="UTC", end_offset=1
)


@dg.asset(
    group_name=GROUP,
    pool=API_POOL,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[freshliance_trips],
    kinds={"python", "parquet"},
)
def freshliance_readings(
    context: dg.AssetExecutionContext, freshliance: FreshlianceResource, lake: LakeResource
) -> dg.MaterializeResult[Any]:
    """Sensor readings of every trip (built-in and external probe), one row per trip, probe
    and reading time, in daily UTC partitions by reading time.

    A run over a range of days asks the gateway once per trip and probe for the whole range,
    then replaces each day's partition atomically, so re-running any range is safe.
    """
    window = context.partition_time_window
    start_ms, end_ms = to_ms(window.start), to_ms(window.end)
    assert start_ms is not None and end_ms is not None
    fetched_at = utc_now()
    trips = latest_partition(lake.lake_dir, schemas.TRIPS)
    if trips is None:
        raise dg.Failure("no trips in the lake yet: materialize freshliance_trips first")
    plan = plan_trip_windows(trips.to_pylist(), start_ms, end_ms, to_ms(fetched_at) or 0)
    context.log.info(
        "window start=%s end=%s trips=%d partitions=%d",
        window.start.isoformat(),
        window.end.isoformat(),
        len(plan),
        len(context.partition_keys),
    )

    frames = [
        normalize.readings([], trip_id=0, device_code="", probe_type=0, fetched_at=fetched_at)
    ]
    with freshliance.get_client() as client:
        for trip in plan:
            for probe_type in PROBE_TYPES:
                rows = client.trip_probe_data(trip.trip_id, probe_type, trip.begin_ms, trip.end_ms)
                frames.append(
                    normalize.readings(
                        rows,
                        trip_id=trip.trip_id,
                        device_code=trip.device_code,
                        probe_type=probe_type,
                        fetched_at=fetched_at,
                    )
                )
    readings = _in_window(pd.concat(frames, ignore_index=True), window.start, window.end)

    day = readings["ts"].dt.strftime("%Y-%m-%d")
    counts = {}
    for key in context.partition_keys:
        part = readings[day == key]
        write_partition(lake.lake_dir, schemas.READINGS, key, to_table(part, schemas.READINGS))
        counts[key] = len(part)
    if not len(readings):
        context.log.warning("no readings in the window")
    context.log.info("wrote rows=%d partitions=%d", len(readings), len(counts))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(readings),
            "rows_by_partition": counts,
            "trip_windows": len(plan),
            **client.stats.as_metadata(),
        }
    )


def _in_window(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Keep rows inside [start, end), one per (trip, probe, time): the gateway may repeat a
    row across pages when data arrives while we page."""
    inside = frame[(frame["ts"] >= pd.Timestamp(start)) & (frame["ts"] < pd.Timestamp(end))]
    keys = ["userDeviceTripId", "probeType", "ts"]
    return inside.drop_duplicates(subset=keys, keep="last").sort_values(keys, ignore_index=True)
