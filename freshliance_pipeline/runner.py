"""Running the main job without the UI: the sync behind ``freshliance-pipeline sync``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from freshliance_pipeline.api import errors
from freshliance_pipeline.resources import LakeResource


class SyncRangeError(ValueError):
    """A requested range the readings partitions cannot hold."""


@dataclass
class SyncOutcome:
    """The run of the main job, each asset step and whether it succeeded."""

    run_id: str = ""
    steps: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Asset checks evaluated in the run: name -> (passed, description). A failed check does
    # not fail the run; it says what to look at.
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return bool(self.steps) and all(self.steps.values()) and not self.errors


def instance_from_env() -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME when set (runs then show in the UI), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def check_range(start: date, end: date, first_day: date, today: date) -> None:
    if end < start:
        raise SyncRangeError(f"--end {end} is before --start {start}")
    if start < first_day:
        raise SyncRangeError(
            f"--start {start} is before the first readings partition {first_day}; set "
            "FRESHLIANCE_PARTITIONS_START to an earlier day to sync older trips"
        )
    if end > today:
        raise SyncRangeError(f"--end {end} is in the future (today is {today} UTC)")


def run_sync(
    start: date,
    end: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
    *,
    warehouse: bool = True,
) -> SyncOutcome:
    """One run of the main job: snapshots, trips, the readings of ``start``..``end``
    (inclusive) read as one range, then dbt and the published DuckDB file (``warehouse``
    False: the lake only)."""
    # Imported here so the environment the caller set up is what the resources bind to.
    from freshliance_pipeline import definitions
    from freshliance_pipeline.assets.readings import daily_partitions
    from freshliance_pipeline.schedules import SYNC_JOB, range_tags, sync_job

    first_day = daily_partitions.start.date()
    check_range(start, end, first_day, datetime.now(UTC).date())
    assets = definitions.ALL_ASSETS if warehouse else definitions.LAKE_ASSETS
    job = dg.Definitions(
        assets=assets,
        resources=definitions.build_resources(),
        jobs=[sync_job],
    ).resolve_job_def(SYNC_JOB)
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance or instance_from_env(),
        tags=range_tags(start.isoformat(), end.isoformat()),
        raise_on_error=False,
    )
    return outcome_of(result)


def outcome_of(result: dg.ExecuteInProcessResult) -> SyncOutcome:
    outcome = SyncOutcome(run_id=result.run_id)
    for event in result.all_events:
        if event.is_step_success and event.step_key:
            outcome.steps[event.step_key] = True
        elif event.is_step_failure and event.step_key:
            outcome.steps[event.step_key] = False
            outcome.errors[event.step_key] = _failure_text(event)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if isinstance(evaluation, dg.AssetCheckEvaluation):
                outcome.checks[evaluation.check_name] = (
                    evaluation.passed,
                    evaluation.description or "",
                )
    if not result.success and not outcome.errors:
        outcome.errors["run"] = "the run failed before any step finished"
    return outcome


# Errors whose message was written for the user: the first of these in a failure's chain is
# what the user needs (Dagster's wrappers above it only name the step, the library errors
# below it only the symptom).
OUR_ERRORS = frozenset(
    {
        *(name for name, value in vars(errors).items() if isinstance(value, type)),
        "KeyFormatError",
        "NormalizationError",
        "SyncRangeError",
        "Failure",
    }
)


def _failure_text(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    error = data.error if data else None
    if error is None:
        return "failed"
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    chosen = next((e for e in chain if e.cls_name in OUR_ERRORS), chain[-1])
    message = chosen.message.strip()
    return f"{chosen.cls_name}: {message}" if chosen.cls_name else message


def last_days(days: int, today: date) -> tuple[date, date]:
    """The ``days`` complete UTC days before ``today``."""
    return today - timedelta(days=days), today - timedelta(days=1)


def trip_days(
    lake_dir: Path, trip_ids: list[int], trip_codes: list[str], today: date
) -> tuple[date, date]:
    """The UTC days the selected trips span, from the trips the lake knows."""
    from freshliance_pipeline.sync.lake_state import current_trips

    trips = current_trips(lake_dir)
    if not trips.empty:
        trips = trips[trips["userDeviceTripId"].isin(trip_ids) | trips["tripCode"].isin(trip_codes)]
        trips = trips[trips["actualBeginTime"].notna()]
    if trips.empty:
        raise SyncRangeError(
            f"no started trip in the lake matches trip ids {trip_ids} or trip codes "
            f"{trip_codes}; run a sync first so the trip is known"
        )
    first = trips["actualBeginTime"].min().date()
    ends = trips["actualEndTime"]
    last = today if ends.isna().any() else ends.max().date()
    return first, min(last, today)


def run_resync(
    trip_ids: list[int],
    trip_codes: list[str],
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> SyncOutcome:
    """Read the selected trips' readings again whole (other trips' rows are kept), over the
    days they span, in one run, then rebuild the models."""
    from freshliance_pipeline import definitions
    from freshliance_pipeline.schedules import RESYNC_JOB, range_tags, readings_job

    resources = definitions.build_resources()
    lake = resources["lake"]
    assert isinstance(lake, LakeResource)
    start, end = trip_days(lake.lake_dir, trip_ids, trip_codes, datetime.now(UTC).date())
    job = dg.Definitions(
        assets=definitions.ALL_ASSETS, resources=resources, jobs=[readings_job]
    ).resolve_job_def(RESYNC_JOB)
    result = job.execute_in_process(
        run_config={
            "loggers": {"console": {"config": {"log_level": log_level}}},
            "ops": {
                "freshliance_readings": {"config": {"trip_ids": trip_ids, "trip_codes": trip_codes}}
            },
        },
        instance=instance or instance_from_env(),
        tags=range_tags(start.isoformat(), end.isoformat()),
        raise_on_error=False,
    )
    return outcome_of(result)
