"""Running the main job without the UI: the sync behind ``freshliance-pipeline sync``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


@dataclass
class SyncOutcome:
    """Each step's run and whether it succeeded."""

    steps: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return bool(self.steps) and all(self.steps.values())


def instance_from_env() -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME when set (runs then show in the UI), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_sync(
    start: date,
    end: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> SyncOutcome:
    """Snapshots and trips, then the readings partitions ``start``..``end`` (inclusive) in one
    run, then dbt and the published DuckDB file. Stops at the first step that fails."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    # Imported here so the environment the caller set up is what the resources bind to.
    from freshliance_pipeline import definitions
    from freshliance_pipeline.assets import dbt, readings

    resources = definitions.build_resources()
    instance = instance or instance_from_env()
    steps: list[tuple[str, list[dg.AssetsDefinition], dict[str, str]]] = [
        ("extract", list(definitions.EXTRACT_ASSETS), {}),
        (
            "readings",
            [readings.freshliance_readings],
            {
                ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
            },
        ),
        ("dbt", [dbt.freshliance_dbt_models], {}),
    ]
    outcome = SyncOutcome()
    for name, assets, tags in steps:
        result = dg.materialize(
            assets,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            resources=resources,
            instance=instance,
            tags={"freshliance/step": name, **tags},
            raise_on_error=False,
        )
        outcome.steps[name] = result.success
        if not result.success:
            outcome.errors[name] = _failure_text(result)
            break
    return outcome


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            messages.append(f"{event.step_key}: {error.message.strip()}")
    return "\n".join(messages) or "run failed"


def last_days(days: int, today: date) -> tuple[date, date]:
    """The ``days`` complete UTC days before ``today``."""
    return today - timedelta(days=days), today - timedelta(days=1)
