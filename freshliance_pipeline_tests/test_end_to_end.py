"""The whole chain: sandbox -> Dagster assets -> lake -> dbt -> analytics.duckdb, compared with
the sandbox's ground truth row for row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from freshliance_pipeline.runner import run_sync
from freshliance_pipeline_tests.conftest import Gateway
from freshliance_pipeline_tests.truth import expected_rows, warehouse_rows


@pytest.fixture
def window(gateway: Gateway) -> tuple[date, date]:
    anchor = datetime.fromtimestamp(gateway.fleet.anchor_ms / 1000, tz=UTC).date()
    return anchor - timedelta(days=2), anchor - timedelta(days=1)


def test_sync_lands_exactly_the_ground_truth_and_reruns_change_nothing(
    gateway: Gateway, pipeline_env: Path, window: tuple[date, date]
) -> None:
    start, end = window
    instance = dg.DagsterInstance.ephemeral()

    first = run_sync(start, end, instance=instance)

    assert first.success, first.errors
    expected = expected_rows(gateway.fleet, start, end)
    analytics = pipeline_env / "analytics.duckdb"
    assert len(expected) > 100
    assert {row[2] for row in expected} == {0, 1}  # both probe types are exercised
    assert warehouse_rows(analytics) == expected

    second = run_sync(start, end, instance=instance)

    assert second.success, second.errors
    assert warehouse_rows(analytics) == expected


def test_the_published_file_has_the_documented_columns_and_one_summary_per_trip_probe(
    gateway: Gateway, pipeline_env: Path, window: tuple[date, date]
) -> None:
    start, end = window

    assert run_sync(start, end).success

    with duckdb.connect(str(pipeline_env / "analytics.duckdb"), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'fct_readings'"
            ).fetchall()
        )
        duplicates = con.execute(
            "select count(*) - count(distinct (trip_id, probe_type, reading_at)) from fct_readings"
        ).fetchone()
        summary_mismatch = con.execute(
            """
            select count(*) from (
                select trip_id, probe_type, count(*) as n, min(temperature_c) as lo,
                    max(temperature_c) as hi
                from fct_readings group by all
            ) r
            full join fct_trip_summary s using (trip_id, probe_type)
            where s.reading_count is distinct from r.n
                or s.min_temperature_c is distinct from r.lo
                or s.max_temperature_c is distinct from r.hi
            """
        ).fetchone()
    assert types["reading_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["temperature_c"] == "DOUBLE"
    assert {
        "trip_id",
        "device_code",
        "probe_type",
        "humidity_pct",
        "light_lux",
        "shock_level",
        "latitude",
        "longitude",
    } <= set(types)
    assert duplicates == (0,)
    assert summary_mismatch == (0,)
