"""Re-syncing one shipment restores its readings and leaves every other trip's alone."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc

from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import partition_values, read_partition, write_partition
from freshliance_pipeline.runner import run_resync, run_sync
from freshliance_pipeline_tests.conftest import Gateway
from freshliance_pipeline_tests.truth import expected_rows, warehouse_rows


def test_resync_by_trip_code_restores_lost_rows_of_that_trip_only(
    gateway: Gateway, pipeline_env: Path
) -> None:
    anchor = datetime.fromtimestamp(gateway.fleet.anchor_ms / 1000, tz=UTC).date()
    start, end = anchor - timedelta(days=2), anchor - timedelta(days=1)
    instance = dg.DagsterInstance.ephemeral()
    assert run_sync(start, end, instance=instance).success
    expected = expected_rows(gateway.fleet, start, end)
    trip_id = max({row[0] for row in expected}, key=lambda t: sum(r[0] == t for r in expected))
    code = next(t.trip_code for t in gateway.fleet.trips if t.trip_id == trip_id)
    lake = pipeline_env / "lake"
    # Lose that trip's rows from every stored day, as a damaged file would.
    for day in partition_values(lake, schemas.READINGS):
        table = read_partition(lake, schemas.READINGS, day)
        assert table is not None
        kept = table.filter(pc.not_equal(table["userDeviceTripId"], trip_id))
        write_partition(lake, schemas.READINGS, day, kept)
    others_before = {
        day: read_partition(lake, schemas.READINGS, day)
        for day in partition_values(lake, schemas.READINGS)
    }

    outcome = run_resync([], [code], instance=instance) if code else run_resync([trip_id], [])

    assert outcome.success, outcome.errors
    in_window = [
        row
        for row in warehouse_rows(pipeline_env / "analytics.duckdb")
        if start <= row[3].date() <= end
    ]
    assert in_window == expected
    for day, before in others_before.items():
        after = read_partition(lake, schemas.READINGS, day)
        assert after is not None and before is not None
        others = after.filter(pc.not_equal(after["userDeviceTripId"], trip_id))
        assert others.select(["userDeviceTripId", "probeType", "ts", "temperature"]).equals(
            before.select(["userDeviceTripId", "probeType", "ts", "temperature"])
        )
