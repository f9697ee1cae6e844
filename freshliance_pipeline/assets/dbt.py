"""The dbt project as Dagster assets, and the publishing of its DuckDB file."""

import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from freshliance_pipeline.resources import LakeResource
from freshliance_pipeline.warehouse import publish

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# One writer at a time for warehouse.duckdb, across runs.
WAREHOUSE_POOL = "freshliance_warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so runs work without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=os.fspath(dbt_project.project_dir), dbt_executable=dbt_executable()
    )


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project when its manifest is missing or older than its sources.

    A lock keeps parallel processes (test workers, the webserver and a run) from parsing into
    the same target folder at once.
    """
    manifest = project.manifest_path
    project.target_path.mkdir(parents=True, exist_ok=True)
    with (project.target_path / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or _newest_source(project.project_dir) > manifest.stat().st_mtime:
            os.environ.setdefault("FRESHLIANCE_DATA_DIR", str(Path("data").resolve()))
            (
                DbtCliResource(
                    project_dir=os.fspath(project.project_dir), dbt_executable=dbt_executable()
                )
                .cli(["--quiet", "parse"], target_path=project.target_path)
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


@dbt_assets(manifest=ensure_manifest(), project=dbt_project, pool=WAREHOUSE_POOL)
def freshliance_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource
) -> Iterator[Any]:
    """Staging views and marts in warehouse.duckdb, then analytics.duckdb published."""
    # dbt reads the lake and writes the warehouse through this variable: make it the same
    # folder the extract assets wrote, as an absolute path.
    os.environ["FRESHLIANCE_DATA_DIR"] = str(lake.data_path)
    lake.data_path.mkdir(parents=True, exist_ok=True)
    yield from dbt.cli(["build"], context=context).stream()
    published = publish(lake.warehouse_path, lake.analytics_path)
    context.log.info("published path=%s", published)
