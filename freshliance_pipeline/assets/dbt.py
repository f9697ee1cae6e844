"""The dbt project as Dagster assets, and the publishing of its DuckDB file."""

import fcntl
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from freshliance_pipeline.resources import LakeResource
from freshliance_pipeline.warehouse import plan_build, publish, record_state

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# One writer at a time for warehouse.duckdb, across runs.
WAREHOUSE_POOL = "freshliance_warehouse"
FCT_READINGS_KEY = dg.AssetKey("fct_readings")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so runs work without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=os.fspath(dbt_project.project_dir), dbt_executable=dbt_executable()
    )


@contextmanager
def warehouse_lock(data_dir: Path, log: Any) -> Iterator[None]:
    """Hold the warehouse's lock file for the whole build and publish."""
    with (data_dir / ".warehouse.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another run's warehouse build to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project when its manifest is missing or older than its sources.

    A lock keeps parallel processes (test workers, the webserver and a run) from parsing into
    the same target folder at once.
    """
    manifest = project.manifest_path
    target_dir = project.project_dir / project.target_path
    target_dir.mkdir(parents=True, exist_ok=True)
    with (target_dir / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or _newest_source(project.project_dir) > manifest.stat().st_mtime:
            os.environ.setdefault("FRESHLIANCE_DATA_DIR", str(Path("data").resolve()))
            (
                DbtCliResource(
                    project_dir=os.fspath(project.project_dir), dbt_executable=dbt_executable()
                )
                .cli(["--quiet", "parse"], target_path=target_dir)
                .wait()
            )
    return manifest


def _newest_source(project_dir: Path) -> float:
    newest = 0.0
    for folder in ("models", "macros", "seeds", "tests", "snapshots"):
        for path in (project_dir / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        path = project_dir / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def requested_reading_days(tags: Mapping[str, str]) -> list[str]:
    """The UTC days a run's partition tags name (one partition or a range), else none.

    The dbt asset itself is not partitioned; in a run of the partitioned sync job these tags
    say which readings partitions the run wrote.
    """
    start = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
    end = tags.get(ASSET_PARTITION_RANGE_END_TAG) or start
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        return []
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


@dbt_assets(manifest=ensure_manifest(), project=dbt_project, pool=WAREHOUSE_POOL)
def freshliance_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource
) -> Iterator[Any]:
    """Staging views and marts in warehouse.duckdb, then analytics.duckdb published.

    fct_readings is rebuilt only for the days whose lake partitions changed since the last
    build, plus the run's partitions; a change to the models makes it a full refresh.
    """
    # dbt reads the lake and writes the warehouse through this variable: make it the same
    # folder the extract assets wrote, as an absolute path.
    os.environ["FRESHLIANCE_DATA_DIR"] = str(lake.data_path)
    lake.data_path.mkdir(parents=True, exist_ok=True)
    # DuckDB allows one writer per file. The pool serializes builds only where the instance
    # sets it a limit (the local one does not, see .dagster/dagster.yaml); this lock does so
    # for every run on the machine, whichever instance launched it.
    with warehouse_lock(lake.data_path, context.log):
        yield from _build_and_publish(context, dbt, lake)


def _build_and_publish(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource
) -> Iterator[Any]:
    plan = plan_build(
        lake.warehouse_path,
        lake.lake_dir,
        dbt_project.project_dir,
        requested_reading_days(context.run.tags),
    )
    context.log.info(
        "dbt plan full_refresh=%s reading_dates=%d", plan.full_refresh, len(plan.reading_dates)
    )
    # Unit tests pin the models' logic and run in the test suite; they say nothing about data.
    args = ["build", "--exclude-resource-type", "unit_test", *plan.dbt_args()]
    yield from dbt.cli(args, context=context).stream()
    # The record says which lake days fct_readings holds: only a build of it may write one.
    if FCT_READINGS_KEY in context.selected_asset_keys:
        record_state(lake.warehouse_path, plan.state)
    published = publish(lake.warehouse_path, lake.analytics_path)
    context.log.info("published path=%s", published)
