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
from freshliance_pipeline.sync.readings import ReadingsReport, SyncSettings, sync_readings

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


REJECTED_SHARE_CHECK = "rejected_share_below_limit"
# The share of a day's rows that may be rejected before the check fails: a few sentinels are
# normal, a share like this is a device or gateway fault worth a look.
DEFAULT_MAX_REJECTED_SHARE = 0.02


def max_rejected_share() -> float:
    value = os.environ.get("FRESHLIANCE_MAX_REJECTED_SHARE")
    if not value:
        return DEFAULT_MAX_REJECTED_SHARE
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise dg.Failure(
            f"FRESHLIANCE_MAX_REJECTED_SHARE={value!r}: expected a share from 0 to 1, like 0.02"
        )
    return share


def rejected_share_result(report: ReadingsReport) -> dg.AssetCheckResult:
    """Fails when any day of the run has more rejected rows than the limit allows."""
    limit = max_rejected_share()
    shares = {
        day: rejected / served if served else (1.0 if rejected else 0.0)
        for day, (rejected, served) in report.rejected_by_day.items()
    }
    over = sorted(day for day, share in shares.items() if share > limit)
    worst = max(shares, key=lambda day: shares[day], default=None)
    with_rejects = {day: report.rejected_by_day[day][0] for day in shares if shares[day] > 0}
    description = (
        f"{len(over)} of {len(shares)} days have more than {limit:.2%} of their rows rejected: "
        f"{', '.join(over[:10])}; the rows and reasons are in lake/rejected/readings"
        if over
        else f"no day has more than {limit:.2%} of its rows rejected"
    )
    return dg.AssetCheckResult(
        check_name=REJECTED_SHARE_CHECK,
        passed=not over,
        description=description,
        metadata={
            "limit": limit,
            "worst_day": worst or "",
            "worst_share": shares[worst] if worst else 0.0,
            "days_over_limit": over,
            "rejected_rows_by_day": with_rejects,
            "rejected_rows_by_reason": dict(sorted(report.rejected_reasons.items())),
        },
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
        check_specs=[
            dg.AssetCheckSpec(
                REJECTED_SHARE_CHECK,
                asset="freshliance_readings",
                description=(
                    "The share of each synced day's rows that were rejected (lake/rejected/"
                    "readings) stays at or under FRESHLIANCE_MAX_REJECTED_SHARE (default 2%)."
                ),
            )
        ],
    )
    def freshliance_readings(
        context: dg.AssetExecutionContext,
        config: ReadingsConfig,
        freshliance: FreshlianceResource,
        lake: LakeResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster misreads MaterializeResult[Any]
        """Sensor readings of every trip (built-in and external probe), one row per trip, probe
        and reading time, in daily UTC partitions by reading time.

        A run over a range of days reads each trip's window once for the whole range, asks only
        for what changed since the last run, and rewrites only the days whose content changed.
        """
        window = context.partition_time_window
        max_rejected_share()  # a bad limit fails before any call, not after the sync
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
        context.log_event(
            dg.AssetMaterialization(
                asset_key=freshliance_rejected_readings.key,
                description=f"rejects of {len(context.partition_keys)} days",
                metadata={
                    "rows_rejected_this_run": report.rows_rejected,
                    "dagster/row_count": sum(n for n, _ in report.rejected_by_day.values()),
                    "rejected_rows_by_reason": dict(sorted(report.rejected_reasons.items())),
                },
            )
        )
        efficiency = data_calls / report.ideal_calls if report.ideal_calls else None
        return dg.MaterializeResult(
            metadata={
                **report.as_metadata(),
                **client.stats.as_metadata(),
                "data_calls_per_ideal": efficiency,
            },
            check_results=[rejected_share_result(report)],
        )


# Written by freshliance_readings in the same step: declared so the warehouse's lineage shows
# where its rejects come from, and materialized through the readings step's events.
freshliance_rejected_readings = dg.AssetSpec(
    key="freshliance_rejected_readings",
    deps=[freshliance_readings],
    group_name=GROUP,
    kinds={"parquet"},
    description=(
        "Reading rows the sync would not trust, with their reasons and the rows as sent "
        "(lake/rejected/readings, daily by reading time). Written by freshliance_readings."
    ),
)


def _records(trips: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in trips.to_dict("records")]
