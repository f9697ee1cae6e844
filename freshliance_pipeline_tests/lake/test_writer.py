"""Partition writes: whole replacement, safe folder names, exact schemas."""

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from freshliance_pipeline import normalize
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import (
    PART_FILE,
    partition_dir,
    read_partition,
    to_table,
    write_partition,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)


def readings(*temps: float) -> pd.DataFrame:
    rows = [{"ts": 1_764_547_200_000 + i * 60_000, "temperature": t} for i, t in enumerate(temps)]
    return normalize.readings(rows, trip_id=1, device_code="D1", probe_type=0, fetched_at=AT)


def test_a_rewrite_replaces_the_partition_whole(tmp_path: Path) -> None:
    write_partition(
        tmp_path, schemas.READINGS, "2026-12-01", to_table(readings(1, 2, 3), schemas.READINGS)
    )

    write_partition(
        tmp_path, schemas.READINGS, "2026-12-01", to_table(readings(4), schemas.READINGS)
    )

    table = read_partition(tmp_path, schemas.READINGS, "2026-12-01")
    assert table is not None and table.column("temperature").to_pylist() == [4.0]
    folder = partition_dir(tmp_path, schemas.READINGS, "2026-12-01")
    assert [p.name for p in folder.iterdir()] == [PART_FILE]


@pytest.mark.parametrize("value", ["../escape", "a/b", "..", "", "x\\y", ".hidden"])
def test_partition_values_that_could_leave_the_dataset_folder_are_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ValueError, match="not a safe folder name"):
        partition_dir(tmp_path, schemas.READINGS, value)


def test_a_column_outside_the_schema_is_an_error() -> None:
    frame = readings(1).assign(surprise=1)

    with pytest.raises(ValueError, match="surprise"):
        to_table(frame, schemas.READINGS)


def test_temp_files_of_killed_writers_are_cleared_once_stale(tmp_path: Path) -> None:
    folder = partition_dir(tmp_path, schemas.READINGS, "2026-12-01")
    folder.mkdir(parents=True)
    stale, fresh = folder / ".part-old.tmp", folder / ".part-new.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    write_partition(
        tmp_path, schemas.READINGS, "2026-12-01", to_table(readings(1), schemas.READINGS)
    )

    assert not stale.exists()
    assert fresh.exists()  # may belong to a writer still running
