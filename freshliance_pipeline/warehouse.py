"""The DuckDB files: the warehouse dbt writes and the copy analysts open.

Only the pipeline writes ``warehouse.duckdb``. After each successful build it is published as
``analytics.duckdb`` by checkpointing, copying to a temporary file beside it and renaming that
over the old copy. An analyst who holds ``analytics.duckdb`` open keeps reading the old file
(the rename replaces the name, not the open file), never blocks the run and never sees a half
built model; the next open sees the new data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb


def publish(warehouse: Path, analytics: Path) -> Path:
    """Atomically replace ``analytics`` with a consistent copy of ``warehouse``."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse to publish at {warehouse}")
    # Fold the write-ahead log into the file so the copy holds every committed change.
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("checkpoint")
    fd, tmp_name = tempfile.mkstemp(prefix=".analytics-", suffix=".duckdb", dir=analytics.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(warehouse, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, analytics)
    finally:
        tmp.unlink(missing_ok=True)
    return analytics
