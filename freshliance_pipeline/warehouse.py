"""The DuckDB files: the warehouse dbt writes, how much of it a build redoes, and the copy
analysts open.

Only the pipeline writes ``warehouse.duckdb``. After each successful build it is published as
``analytics.duckdb`` by checkpointing, copying to a temporary file beside it and renaming that
over the old copy. An analyst who holds ``analytics.duckdb`` open keeps reading the old file
(the rename replaces the name, not the open file), never blocks the run and never sees a half
built model; the next open sees the new data.

``fct_readings`` is incremental by reading day. Which days a build replaces is decided here,
from the lake itself: every day whose readings partition changed since the last successful
build (new, rewritten or gone), plus any days the run asks for. The files' size and
modification time are recorded after each build, so a partition written by any run,
partitioned or not, is picked up by the next build, and the table always equals the lake.
When the models themselves change, or there is no record, the build is a full refresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

STATE_FILE = "warehouse.build-state.json"
# What the models' output depends on; tests and docs do not change a row.
PROJECT_INPUTS = ("models", "macros", "seeds", "dbt_project.yml")
READINGS_PARTITION_PREFIX = "reading_date="


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
    # A write-ahead log left by someone who wrote to the old copy belongs to that file: DuckDB
    # refuses to open the new one beside it (the checkpoint iterations differ). A holder that
    # is still open keeps writing to its own handle, so removing the name loses nothing.
    Path(f"{analytics}.wal").unlink(missing_ok=True)
    return analytics


@dataclass(frozen=True)
class BuildState:
    """What a successful build was made from: the dbt project and each readings day."""

    project: str
    reading_days: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"project": self.project, "reading_days": self.reading_days}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> BuildState:
        data = json.loads(text)
        days = data["reading_days"]
        if not isinstance(data["project"], str) or not isinstance(days, dict):
            raise ValueError("not a build state")
        return cls(project=data["project"], reading_days={str(k): str(v) for k, v in days.items()})


@dataclass(frozen=True)
class BuildPlan:
    """How the next ``dbt build`` runs: a full refresh, or incremental over some days."""

    full_refresh: bool
    reading_dates: tuple[str, ...] = ()
    # Recorded after the build succeeds; scanned before it, so a partition written during the
    # build is simply redone next time.
    state: BuildState = field(default_factory=lambda: BuildState(project=""))

    def dbt_args(self) -> list[str]:
        if self.full_refresh:
            return ["--full-refresh"]
        return ["--vars", json.dumps({"reading_dates": list(self.reading_dates)})]


def scan_state(lake_dir: Path, project_dir: Path) -> BuildState:
    return BuildState(
        project=project_fingerprint(project_dir), reading_days=reading_day_signatures(lake_dir)
    )


def plan_build(
    warehouse: Path, lake_dir: Path, project_dir: Path, requested_days: Iterable[str] = ()
) -> BuildPlan:
    """The days whose readings changed since the recorded build, plus ``requested_days``."""
    current = scan_state(lake_dir, project_dir)
    previous = load_state(warehouse)
    if previous is None or previous.project != current.project:
        return BuildPlan(full_refresh=True, state=current)
    days = set(current.reading_days) | set(previous.reading_days)
    changed = {d for d in days if current.reading_days.get(d) != previous.reading_days.get(d)}
    return BuildPlan(
        full_refresh=False,
        reading_dates=tuple(sorted(changed | set(requested_days))),
        state=current,
    )


def state_path(warehouse: Path) -> Path:
    return warehouse.with_name(STATE_FILE)


def load_state(warehouse: Path) -> BuildState | None:
    """The recorded state, or None when there is no usable record of the warehouse."""
    path = state_path(warehouse)
    if not warehouse.exists() or not path.exists():
        return None
    try:
        return BuildState.from_json(path.read_text())
    except (ValueError, KeyError, TypeError):
        # An unreadable record only costs a full refresh.
        return None


def record_state(warehouse: Path, state: BuildState) -> None:
    """Write the state atomically, so a crash leaves the old record or the new one."""
    path = state_path(warehouse)
    fd, tmp_name = tempfile.mkstemp(prefix=".build-state-", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(state.to_json())
    os.replace(tmp_name, path)


def reading_day_signatures(lake_dir: Path) -> dict[str, str]:
    """Each readings day's files, and its rejects' (the warehouse takes raw values from them),
    as ``name:size:mtime_ns``. Every rewrite of a partition is a new file with a new
    modification time; a copy that keeps times (``cp -p``) keeps the signature, so a moved data
    folder does not rebuild every day."""
    days: dict[str, list[str]] = {}
    for root in (lake_dir / "readings", lake_dir / "rejected" / "readings"):
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if not folder.is_dir() or not folder.name.startswith(READINGS_PARTITION_PREFIX):
                continue
            day = folder.name.removeprefix(READINGS_PARTITION_PREFIX)
            for path in sorted(folder.glob("*.parquet")):
                stat = path.stat()
                name = path.relative_to(lake_dir).as_posix()
                days.setdefault(day, []).append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return {day: ",".join(parts) for day, parts in sorted(days.items())}


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in PROJECT_INPUTS:
        top = project_dir / name
        paths = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in paths:
            if path.is_file():
                digest.update(path.relative_to(project_dir).as_posix().encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()
