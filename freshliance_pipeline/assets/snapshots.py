"""Small entities snapshotted once a day: the account, templates, devices and groups.

Each is one listing call (or a few pages), typed and written as that day's snapshot, which a
re-run the same day replaces. History survives across days (battery, position, membership).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from freshliance_pipeline import normalize
from freshliance_pipeline.api.client import FreshlianceClient
from freshliance_pipeline.assets._common import API_POOL, GROUP, utc_now, write_snapshot
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.schemas import Dataset
from freshliance_pipeline.resources import FreshlianceResource, LakeResource

Fetch = Callable[[FreshlianceClient, datetime], pd.DataFrame]


def snapshot_asset(name: str, dataset: Dataset, fetch: Fetch, description: str) -> Any:
    """An asset that fetches one entity with ``fetch`` and writes today's snapshot."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        pool=API_POOL,
        kinds={"python", "parquet"},
        description=description,
    )
    def _snapshot(
        context: dg.AssetExecutionContext, freshliance: FreshlianceResource, lake: LakeResource
    ) -> dg.MaterializeResult[Any]:
        fetched_at = utc_now()
        with freshliance.get_client() as client:
            frame = fetch(client, fetched_at)
        return write_snapshot(context, lake, dataset, frame, fetched_at, client.stats)

    return _snapshot


def _group_devices(client: FreshlianceClient, fetched_at: datetime) -> pd.DataFrame:
    # Groups are listed again rather than read from the lake, so the snapshot always matches
    # the groups that exist when it is taken.
    frames = [normalize.group_devices([], 0, fetched_at)]
    for group in client.device_groups():
        group_id = int(group["userGroupId"])
        frames.append(normalize.group_devices(client.group_devices(group_id), group_id, fetched_at))
    return pd.concat(frames, ignore_index=True)


freshliance_account = snapshot_asset(
    "freshliance_account",
    schemas.ACCOUNT,
    lambda client, at: normalize.account(client.user_info(), at),
    "The account's settings (email, time zone, units, SMS and voice credit): one row per "
    "daily snapshot.",
)
freshliance_config_templates = snapshot_asset(
    "freshliance_config_templates",
    schemas.CONFIG_TEMPLATES,
    lambda client, at: normalize.config_templates(client.config_templates(), at),
    "Device configuration templates (logging and upload intervals, flight mode, alarms): one "
    "row per template per daily snapshot.",
)
freshliance_devices = snapshot_asset(
    "freshliance_devices",
    schemas.DEVICES,
    lambda client, at: normalize.devices(client.user_devices(), at),
    "Every tracker bound to the account with its battery and last position: one row per "
    "device per daily snapshot.",
)
freshliance_device_groups = snapshot_asset(
    "freshliance_device_groups",
    schemas.DEVICE_GROUPS,
    lambda client, at: normalize.device_groups(client.device_groups(), at),
    "The account's device groups: one row per group per daily snapshot.",
)
freshliance_group_devices = snapshot_asset(
    "freshliance_group_devices",
    schemas.GROUP_DEVICES,
    _group_devices,
    "Which devices each group holds, with their current trip status: one row per (group, "
    "device) per daily snapshot.",
)
