"""The code location loads, with the assets, job and schedule users see in the UI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from freshliance_pipeline.assets.readings import max_rejected_share
from freshliance_pipeline.definitions import defs
from freshliance_pipeline.resources import freshliance_from_env
from freshliance_pipeline.schedules import ended_trips_sensor, hourly_sync

ROOT = Path(__file__).resolve().parents[1]

EXTRACT_KEYS = {
    "freshliance_account",
    "freshliance_config_templates",
    "freshliance_devices",
    "freshliance_device_groups",
    "freshliance_group_devices",
    "freshliance_trips",
    "freshliance_readings",
}


def test_definitions_hold_the_extract_and_dbt_assets() -> None:
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}

    assert keys >= EXTRACT_KEYS
    assert {
        "stg_freshliance__readings",
        "fct_readings",
        "fct_trip_summary",
        "dim_devices",
        "dim_trips",
    } <= keys


def test_assets_are_grouped_by_layer() -> None:
    graph = defs.resolve_asset_graph()

    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}

    assert groups["freshliance_readings"] == "freshliance"
    assert groups["fct_trip_summary"] == "freshliance_warehouse"
    assert groups["alarm_profiles"] == "freshliance_warehouse"


def test_dbt_sources_are_the_extract_assets() -> None:
    graph = defs.resolve_asset_graph()

    upstream = {
        k.to_user_string() for k in graph.get(dg.AssetKey("stg_freshliance__readings")).parent_keys
    }

    assert upstream == {"freshliance_readings", "freshliance_rejected_readings"}
    rejects = graph.get(dg.AssetKey("freshliance_rejected_readings"))
    assert {k.to_user_string() for k in rejects.parent_keys} == {"freshliance_readings"}
    assert not rejects.is_executable  # written by the readings step, not a step of its own


def test_hourly_schedule_asks_for_today_and_the_recent_days_in_one_run() -> None:
    when = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    context = dg.build_schedule_context(scheduled_execution_time=when)

    result = hourly_sync(context)

    assert isinstance(result, Iterator)
    requests = [r for r in result if isinstance(r, dg.RunRequest)]
    assert len(requests) == 1
    assert requests[0].tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-12-01"
    assert requests[0].tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-12-03"
    assert defs.resolve_job_def("freshliance_sync").partitions_def is not None


def test_workspace_loads_with_the_dagster_cli(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1"}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ended_trips_sensor_rechecks_the_days_those_trips_spanned(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "freshliance_trips",
                metadata={"resync_start": "2026-11-20", "resync_end": "2026-11-24"},
            )
        )
        context = dg.build_sensor_context(instance=instance)

        result = ended_trips_sensor.evaluate_tick(context)

    assert len(result.run_requests or []) == 1
    request = (result.run_requests or [])[0]
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-11-20"
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-11-24"
    assert request.job_name in (None, "freshliance_resync_readings")


def test_tuning_comes_from_the_environment_and_bad_values_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRESHLIANCE_APP_ID", "app")
    monkeypatch.setenv("FRESHLIANCE_READ_TIMEOUT_S", "5")
    monkeypatch.setenv("FRESHLIANCE_RETRY_ATTEMPTS", "3")
    monkeypatch.setenv("FRESHLIANCE_MAX_REJECTED_SHARE", "0.1")

    resource = freshliance_from_env()

    assert (resource.read_timeout_s, resource.retry_attempts) == (5.0, 3)
    assert max_rejected_share() == 0.1
    monkeypatch.setenv("FRESHLIANCE_MAX_REJECTED_SHARE", "5%")
    with pytest.raises(dg.Failure, match="FRESHLIANCE_MAX_REJECTED_SHARE='5%'"):
        max_rejected_share()
