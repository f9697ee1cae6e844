"""Which days of fct_readings a build replaces: decided from the lake, the record of the last
build and the run's partitions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from freshliance_pipeline.assets.dbt import DBT_PROJECT_DIR, requested_reading_days
from freshliance_pipeline.warehouse import (
    BuildPlan,
    plan_build,
    record_state,
    state_path,
)


def _write_day(lake: Path, day: str, payload: bytes = b"rows") -> None:
    folder = lake / "readings" / f"reading_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".part-0.tmp"
    tmp.write_bytes(payload)
    os.replace(tmp, folder / "part-0.parquet")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A warehouse file and a lake of two days, recorded as built."""
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    for day in ("2025-03-01", "2025-03-02"):
        _write_day(tmp_path / "lake", day)
    first = plan_build(tmp_path / "warehouse.duckdb", tmp_path / "lake", DBT_PROJECT_DIR)
    record_state(tmp_path / "warehouse.duckdb", first.state)
    return tmp_path


def _plan(data_dir: Path, requested: tuple[str, ...] = ()) -> BuildPlan:
    return plan_build(data_dir / "warehouse.duckdb", data_dir / "lake", DBT_PROJECT_DIR, requested)


def test_without_a_record_the_build_is_a_full_refresh(tmp_path: Path) -> None:
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    _write_day(tmp_path / "lake", "2025-03-01")

    plan = _plan(tmp_path)

    assert plan.full_refresh
    assert plan.dbt_args() == ["--full-refresh"]
    assert plan.state.reading_days.keys() == {"2025-03-01"}


def test_an_unchanged_lake_rebuilds_no_day(data_dir: Path) -> None:
    plan = _plan(data_dir)

    assert (plan.full_refresh, plan.reading_dates) == (False, ())
    assert plan.dbt_args() == ["--vars", json.dumps({"reading_dates": []})]


def test_rewritten_new_and_removed_days_are_rebuilt_with_the_requested_ones(
    data_dir: Path,
) -> None:
    _write_day(data_dir / "lake", "2025-03-02", b"more rows")
    _write_day(data_dir / "lake", "2025-03-03")
    shutil.rmtree(data_dir / "lake" / "readings" / "reading_date=2025-03-01")

    plan = _plan(data_dir, requested=("2025-02-27",))

    assert not plan.full_refresh
    assert plan.reading_dates == ("2025-02-27", "2025-03-01", "2025-03-02", "2025-03-03")


def test_a_lost_warehouse_or_an_unreadable_record_means_a_full_refresh(data_dir: Path) -> None:
    state_path(data_dir / "warehouse.duckdb").write_text("{not json")
    assert _plan(data_dir).full_refresh

    (data_dir / "warehouse.duckdb").unlink()
    assert _plan(data_dir).full_refresh


def test_a_change_to_the_models_means_a_full_refresh(data_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    warehouse, lake = data_dir / "warehouse.duckdb", data_dir / "lake"
    record_state(warehouse, plan_build(warehouse, lake, project).state)
    assert not plan_build(warehouse, lake, project).full_refresh

    seed = project / "seeds" / "alarm_profiles.csv"
    seed.write_text(seed.read_text().replace("pharma,0,2,8,", "pharma,0,2,6,"))

    assert plan_build(warehouse, lake, project).full_refresh


@pytest.mark.parametrize(
    ("tags", "days"),
    [
        ({"dagster/partition": "2025-03-02"}, ["2025-03-02"]),
        (
            {
                "dagster/asset_partition_range_start": "2025-02-27",
                "dagster/asset_partition_range_end": "2025-03-01",
            },
            ["2025-02-27", "2025-02-28", "2025-03-01"],
        ),
        ({}, []),
        ({"dagster/partition": "not-a-day"}, []),
    ],
    ids=["one partition", "a range", "unpartitioned", "not a day"],
)
def test_the_runs_partitions_name_the_requested_days(tags: dict[str, str], days: list[str]) -> None:
    assert requested_reading_days(tags) == days
