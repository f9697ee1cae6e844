"""Two backfills and an hourly-style run at once, sharing one data folder: no step fails, and
the warehouse ends up with exactly the ground truth."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from freshliance_pipeline_tests.conftest import Gateway
from freshliance_pipeline_tests.truth import anchor_day, expected_rows, warehouse_rows

CLI = "from freshliance_pipeline.cli import main; main()"


def test_two_backfills_and_a_recent_run_at_once_all_succeed(
    gateway: Gateway, pipeline_env: Path
) -> None:
    last = anchor_day(gateway.fleet) - timedelta(days=1)
    ranges = [
        (last - timedelta(days=5), last - timedelta(days=3)),  # a backfill
        (last - timedelta(days=3), last - timedelta(days=1)),  # another, overlapping it
        (last - timedelta(days=1), last),  # the recent days an hourly run re-checks
    ]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CLI, "sync", "--start", str(lo), "--end", str(hi)],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for lo, hi in ranges
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "FAILED" not in output
    first = ranges[0][0]
    assert warehouse_rows(pipeline_env / "analytics.duckdb") == expected_rows(
        gateway.fleet, first, last
    )
