"""Trip readings, partitioned by UTC day of the reading time."""

import os
import warnings
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from freshliance_pipeline.assets._common import API_POOL, GROUP, utc_now
from freshliance_pipeline.assets.trips import freshliance_trips
from freshliance_pipeline.resources import FreshlianceResource, LakeResource
from freshliance_pipeline.sync.lake_state import current_trips
from freshliance_pipeline.sync.readings import SyncSettings, sync_readings

# The first day a backfill can reach; override for accounts with older trips.
PARTITIONS_START = os.environ.get("FRESHLIANCE_PARTITIONS_START", "2025-01-01")

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone="UTC", end_offset=1
)


class ReadingsConfig(dg.Config):
    """Limit a run to some trips ("re-sync this shipment"): their windows are read again
    whole, whatever the lake holds; other trips' readings in the same days are kept."""

    trip_ids: list[int] = Field(default_factory=list)
    trip_codes: list[str] = Field(default_factory=list)


def sync_settings(force: bool = False) -> SyncSettings:
    settle = os.environ.get("FRESHLIANCE_SETTLE_HOURS")
    workers = os.environ.get("FRESHLIANCE_FETCH_CONCURRENCY")
    return SyncSettings(
        settle=timedelta(hours=float(settle)) if settle else SyncSettings.settle,
        concurrency=int(workers) if workers else SyncSettings.concurrency,
        force=force,
    )


# Dagster marks the single-run backfill policy as beta; users cannot act on that notice.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.asset(
        group_name=GROUP,
        pool=API_POOL,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[freshliance_trips],
        kinds={"python", "parquet"},
    )
    def freshliance_readings(
        context: dg.AssetExecutionContext,
        config: ReadingsConfig,
        freshliance: FreshlianceResource,
        lake: LakeResource,
    ) -> dg.MaterializeResult[Any]:
        """Sensor readings of every trip (built-in and external probe), one row per trip, probe
        and reading time, in daily UTC partitions by reading time.

        A run over a range of days reads each trip's window once for the whole range, asks only
        for what changed since the last run, and rewrites only the days whose content changed.
        """
        window = context.partition_time_window
        now = utc_now()
        trips = current_trips(lake.lake_dir)
        if trips.empty:
            raise dg.Failure("no trips in the lake yet: materialize freshliance_trips first")
        selected = bool(config.trip_ids or config.trip_codes)
        if selected:
            trips = trips[
                trips["userDeviceTripId"].isin(config.trip_ids)
                | trips["tripCode"].isin(config.trip_codes)
            ]
            if trips.empty:
                raise dg.Failure(
                    f"no trip matches trip_ids={config.trip_ids} trip_codes={config.trip_codes}"
                )
        context.log.info(
            "window start=%s end=%s trips=%d partitions=%d",
            window.start.isoformat(),
            window.end.isoformat(),
            len(trips),
            len(context.partition_keys),
        )
        with freshliance.get_client() as client:
            report = sync_readings(
                client,
                lake.lake_dir,
                _records(trips),
                window.start,
                window.end,
                now,
                sync_settings(force=selected),
            )
        data_calls = client.stats.calls["tracker.tripData.pageProbeData"]
        context.log.info(
            "readings rows_new=%d rows_unchanged=%d partitions_written=%d data_calls=%d ideal=%d",
            report.rows_new,
            report.rows_unchanged,
            len(report.partitions_written),
            data_calls,
            report.ideal_calls,
        )
        efficiency = data_calls / report.ideal_calls if report.ideal_calls else None
        return dg.MaterializeResult(
            metadata={
                **report.as_metadata(),
                **client.stats.as_metadata(),
                "data_calls_per_ideal": efficiency,
            }
        )


def _records(trips: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in trips.to_dict("records")]
