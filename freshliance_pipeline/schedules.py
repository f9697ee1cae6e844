"""When the sync runs on its own: an hourly schedule and a sensor for trips that ended."""

import os
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from freshliance_pipeline.assets.readings import daily_partitions

# Days before today that every hourly run checks again for late uploads.
RECHECK_DAYS = int(os.environ.get("FRESHLIANCE_RECHECK_DAYS", "2"))
# The sensor re-checks at most this many days in one run.
RESYNC_MAX_DAYS = 62

SYNC_JOB = "freshliance_sync"

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Snapshots, trips, readings of the recent days, then dbt and the published file.",
)

RESYNC_JOB = "freshliance_resync_readings"

readings_job = dg.define_asset_job(
    RESYNC_JOB,
    selection=dg.AssetSelection.assets("freshliance_readings").downstream().materializable(),
    partitions_def=daily_partitions,
    description="Readings of a range of days (one run for the whole range), then dbt.",
)


def range_tags(start: str, end: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}


@dg.schedule(
    job=sync_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def hourly_sync(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """Every hour: new and changed trips, then the readings of today and the days before it
    (FRESHLIANCE_RECHECK_DAYS, default 2) in one run, so late uploads of open trips land."""
    when = context.scheduled_execution_time
    first = (when - timedelta(days=RECHECK_DAYS)).strftime("%Y-%m-%d")
    yield dg.RunRequest(
        run_key=when.strftime("%Y-%m-%dT%H"),
        tags=range_tags(first, when.strftime("%Y-%m-%d")),
    )


@dg.asset_sensor(
    asset_key=dg.AssetKey("freshliance_trips"),
    job=readings_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def ended_trips_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> Iterator[dg.RunRequest]:
    """When a sync sees trips end, check every day they spanned once more, so readings held
    back on the device until the end of the trip are not missed."""
    materialization = asset_event.asset_materialization
    if materialization is None:
        return
    metadata = materialization.metadata
    start, end = metadata.get("resync_start"), metadata.get("resync_end")
    if start is None or end is None:
        return
    first, last = date.fromisoformat(str(start.value)), date.fromisoformat(str(end.value))
    # Bound one re-check, keeping its most recent days.
    first = max(first, last - timedelta(days=RESYNC_MAX_DAYS - 1))
    yield dg.RunRequest(
        run_key=f"ended-trips-{asset_event.run_id}-{asset_event.timestamp}",
        tags=range_tags(first.isoformat(), last.isoformat()),
    )
