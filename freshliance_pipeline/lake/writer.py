"""Atomic partition writes into the Parquet lake.

Layout: ``<lake>/<dataset>/<partition column>=<value>/part-0.parquet``. A partition is written
whole to a temporary file in its own folder and renamed over the old file, so a reader (DuckDB,
dbt, an analyst) sees the old partition or the new one, never a half-written file, and a re-run
of the same partition replaces it instead of adding to it.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from freshliance_pipeline.lake.schemas import Dataset

PART_FILE = "part-0.parquet"
STALE_TEMP_S = 3600
_PARTITION_VALUE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]*$")


@dataclass(frozen=True)
class WrittenPartition:
    path: Path
    row_count: int


def partition_dir(lake_dir: Path, dataset: Dataset, value: str) -> Path:
    """The folder of one partition; refuses values that could escape the dataset folder."""
    if not _PARTITION_VALUE.match(value) or ".." in value:
        raise ValueError(f"partition value {value!r} for {dataset.name} is not a safe folder name")
    return lake_dir / dataset.name / f"{dataset.partition_column}={value}"


def to_table(frame: pd.DataFrame, dataset: Dataset) -> pa.Table:
    """Cast a frame to the dataset's schema exactly: missing columns become nulls, extra ones
    are an error so a typo in a normalizer cannot slip into the lake."""
    extra = set(frame.columns) - set(dataset.schema.names)
    if extra:
        raise ValueError(f"{dataset.name}: columns not in the schema: {sorted(extra)}")
    columns: dict[str, pa.Array] = {}
    for field in dataset.schema:
        if field.name in frame.columns:
            columns[field.name] = pa.Array.from_pandas(frame[field.name], type=field.type)
        else:
            columns[field.name] = pa.nulls(len(frame), type=field.type)
    return pa.Table.from_pydict(columns, schema=dataset.schema)


def write_partition(
    lake_dir: Path, dataset: Dataset, value: str, table: pa.Table
) -> WrittenPartition:
    """Replace one partition with ``table`` atomically."""
    if not table.schema.equals(dataset.schema, check_metadata=False):
        raise ValueError(f"{dataset.name}: table schema differs from the lake schema")
    target_dir = partition_dir(lake_dir, dataset, value)
    target_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(target_dir)
    target = target_dir / PART_FILE
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=target_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return WrittenPartition(path=target, row_count=table.num_rows)


def _remove_stale_temp_files(folder: Path) -> None:
    """Temp files of writers killed before their rename; readers never see them (their names
    do not end in .parquet), but they would pile up. Young ones may belong to a live writer."""
    cutoff = time.time() - STALE_TEMP_S
    for leftover in folder.glob(".part-*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def read_partition(lake_dir: Path, dataset: Dataset, value: str) -> pa.Table | None:
    """The stored partition, or None when it was never written."""
    path = partition_dir(lake_dir, dataset, value) / PART_FILE
    if not path.exists():
        return None
    return conform(pq.read_table(path), dataset)


def conform(table: pa.Table, dataset: Dataset) -> pa.Table:
    """A stored table in the current schema: columns an older schema version lacked become
    nulls, so files written before a schema bump stay readable."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, type=f.type)
        for f in dataset.schema
    ]
    return pa.Table.from_arrays(columns, schema=dataset.schema)


def latest_partition(lake_dir: Path, dataset: Dataset) -> pa.Table | None:
    """The partition with the greatest value (snapshots: the newest day), if any."""
    values = partition_values(lake_dir, dataset)
    if not values:
        return None
    return read_partition(lake_dir, dataset, values[-1])


def partition_values(lake_dir: Path, dataset: Dataset) -> list[str]:
    """The values of every written partition, sorted."""
    root = lake_dir / dataset.name
    prefix = f"{dataset.partition_column}="
    if not root.exists():
        return []
    return sorted(
        p.name[len(prefix) :]
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and (p / PART_FILE).exists()
    )


def read_partitions(lake_dir: Path, dataset: Dataset, values: Iterable[str]) -> pa.Table:
    """The rows of the given partitions (those that exist), with no partition column."""
    tables = [read_partition(lake_dir, dataset, value) for value in values]
    present = [t for t in tables if t is not None]
    return pa.concat_tables(present) if present else dataset.schema.empty_table()
