"""Publishing analytics.duckdb: a copy renamed over the old one, whatever its holders do."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from freshliance_pipeline.warehouse import publish

# Opens the file read-write, writes (so a write-ahead log exists), reports, then waits to be
# killed: the analyst's session that crashed or was closed with kill -9.
CRASHING_HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table my_notes as select 42 as answer")
print(con.execute("select count(*) from readings").fetchone()[0], flush=True)
sys.stdin.readline()
"""


def _warehouse(path: Path, rows: int) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create or replace table readings as select range as i from range($1)", [rows])
    return path


def _count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("select count(*) from readings").fetchone()
    assert row is not None
    return int(row[0])


def test_publish_replaces_the_copy_and_leaves_the_warehouse_alone(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", 10)
    analytics = tmp_path / "analytics.duckdb"
    publish(warehouse, analytics)
    _warehouse(warehouse, 25)

    published = publish(warehouse, analytics)

    assert published == analytics
    assert (_count(analytics), _count(warehouse)) == (25, 25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analytics.duckdb", "warehouse.duckdb"]


def test_a_holder_killed_with_unsaved_writes_does_not_break_the_next_open(tmp_path: Path) -> None:
    """DuckDB refuses a write-ahead log that belongs to another file; the one the killed
    holder left next to the old copy must not stop the new copy from opening."""
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", 10)
    analytics = publish(warehouse, tmp_path / "analytics.duckdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", CRASHING_HOLDER, str(analytics)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert int(holder.stdout.readline()) == 10
    _warehouse(warehouse, 25)

    publish(warehouse, analytics)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)

    assert _count(analytics) == 25


def test_publish_without_a_warehouse_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no warehouse to publish"):
        publish(tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb")
