"""Trips: one logging session of a tracker, the unit every reading belongs to."""

import os
from datetime import timedelta
from typing import Any

import dagster as dg

from freshliance_pipeline.assets._common import API_POOL, GROUP, utc_now
from freshliance_pipeline.assets.snapshots import freshliance_config_templates, freshliance_devices
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import to_table, write_partition
from freshliance_pipeline.resources import FreshlianceResource, LakeResource
from freshliance_pipeline.sync.trips import DEFAULT_LOOKBACK, lookback_for, sync_trips


def configured_lookback() -> timedelta:
    hours = os.environ.get("FRESHLIANCE_TRIP_LOOKBACK_HOURS")
    return timedelta(hours=float(hours)) if hours else DEFAULT_LOOKBACK


@dg.asset(
    group_name=GROUP,
    pool=API_POOL,
    deps=[freshliance_devices, freshliance_config_templates],
    kinds={"python", "parquet"},
)
def freshliance_trips(
    context: dg.AssetExecutionContext, freshliance: FreshlianceResource, lake: LakeResource
) -> dg.MaterializeResult[Any]:
    """Every trip of the account with its status, route, goods and expected and actual times,
    synced incrementally: one row per trip and status per day it was seen; the newest row of a
    trip is its current state."""
    fetched_at = utc_now()
    lookback = lookback_for(lake.lake_dir, configured_lookback())
    with freshliance.get_client() as client:
        frame, report = sync_trips(client, lake.lake_dir, fetched_at, lookback)
    day = fetched_at.strftime("%Y-%m-%d")
    written = write_partition(lake.lake_dir, schemas.TRIPS, day, to_table(frame, schemas.TRIPS))
    context.log.info(
        "trips mode=%s listed=%d new=%d changed=%d calls=%d",
        report.mode,
        report.listed,
        report.new,
        report.changed,
        client.stats.total_calls,
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written.row_count,
            "path": dg.MetadataValue.path(str(written.path)),
            **report.as_metadata(),
            **client.stats.as_metadata(),
        }
    )
