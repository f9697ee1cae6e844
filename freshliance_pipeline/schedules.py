"""When the sync runs on its own."""

from collections.abc import Iterator

import dagster as dg

from freshliance_pipeline.assets.readings import daily_partitions

sync_job = dg.define_asset_job(
    "freshliance_sync",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Snapshots, trips, the day's readings, then dbt and the published DuckDB file.",
)


@dg.schedule(job=sync_job, cron_schedule="0 * * * *", execution_timezone="UTC")
def hourly_sync(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """Every hour, sync today's readings partition (UTC) and rebuild the models.

    NOTE: only today's partition is re-read; re-checking recent days for late uploads is part
    of the planned incremental sync.
    """
    when = context.scheduled_execution_time
    day = when.strftime("%Y-%m-%d")
    yield dg.RunRequest(run_key=when.strftime("%Y-%m-%dT%H"), partition_key=day)
