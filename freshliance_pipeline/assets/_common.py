"""What every extract asset does after fetching: type, write, report."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from freshliance_pipeline.api.client import CallStats
from freshliance_pipeline.lake.schemas import Dataset
from freshliance_pipeline.lake.writer import to_table, write_partition
from freshliance_pipeline.resources import LakeResource

GROUP = "freshliance"
# Extract steps share one pool so parallel runs together stay inside the account's API limit.
API_POOL = "freshliance_api"


def utc_now() -> datetime:
    return datetime.now(UTC)


def write_snapshot(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    dataset: Dataset,
    frame: pd.DataFrame,
    fetched_at: datetime,
    stats: CallStats,
) -> dg.MaterializeResult[Any]:
    """Replace today's snapshot of a small entity and report what it cost."""
    snapshot_date = fetched_at.strftime("%Y-%m-%d")
    written = write_partition(lake.lake_dir, dataset, snapshot_date, to_table(frame, dataset))
    context.log.info(
        "wrote dataset=%s snapshot_date=%s rows=%d calls=%d",
        dataset.name,
        snapshot_date,
        written.row_count,
        stats.total_calls,
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written.row_count,
            "path": dg.MetadataValue.path(str(written.path)),
            "snapshot_date": snapshot_date,
            **stats.as_metadata(),
        }
    )
