"""The Dagster code location: assets, resources, the sync job and its schedule."""

from __future__ import annotations

import os

import dagster as dg

from freshliance_pipeline.assets.dbt import dbt_resource, freshliance_dbt_models
from freshliance_pipeline.assets.readings import freshliance_readings, freshliance_rejected_readings
from freshliance_pipeline.assets.snapshots import (
    freshliance_account,
    freshliance_config_templates,
    freshliance_device_groups,
    freshliance_devices,
    freshliance_group_devices,
)
from freshliance_pipeline.assets.trips import freshliance_trips
from freshliance_pipeline.resources import freshliance_from_env, lake_from_env
from freshliance_pipeline.schedules import ended_trips_sensor, hourly_sync, readings_job, sync_job

EXTRACT_ASSETS = [
    freshliance_account,
    freshliance_config_templates,
    freshliance_devices,
    freshliance_device_groups,
    freshliance_group_devices,
    freshliance_trips,
]
# Everything the sync writes to the lake; the warehouse is built from it.
LAKE_ASSETS = [*EXTRACT_ASSETS, freshliance_readings, freshliance_rejected_readings]
ALL_ASSETS = [*LAKE_ASSETS, freshliance_dbt_models]


def build_resources() -> dict[str, object]:
    """Resources bound to the environment as it is now (see README, environment)."""
    lake = lake_from_env()
    # dbt reads the lake through this variable; pin it to the absolute path the assets use.
    os.environ["FRESHLIANCE_DATA_DIR"] = str(lake.data_path)
    return {
        "freshliance": freshliance_from_env(),
        "lake": lake,
        "dbt": dbt_resource(),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    resources=build_resources(),
    jobs=[sync_job, readings_job],
    schedules=[hourly_sync],
    sensors=[ended_trips_sensor],
)
