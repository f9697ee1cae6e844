"""A sync killed with SIGKILL in the middle of writing leaves no partial partition, and the
next run lands exactly the ground truth."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from freshliance_pipeline.runner import run_sync
from freshliance_pipeline_tests.conftest import Gateway
from freshliance_pipeline_tests.truth import expected_rows, warehouse_rows

CLI = "from freshliance_pipeline.cli import main; main()"


def test_sigkill_mid_write_then_rerun_loses_and_doubles_nothing(
    gateway: Gateway, pipeline_env: Path
) -> None:
    anchor = datetime.fromtimestamp(gateway.fleet.anchor_ms / 1000, tz=UTC).date()
    start, end = anchor - timedelta(days=3), anchor - timedelta(days=1)
    readings = pipeline_env / "lake" / "readings"
    run = subprocess.Popen(
        [sys.executable, "-c", CLI, "sync", "--start", str(start), "--end", str(end)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        # Kill as soon as a readings file is being written (or, failing that, has just been).
        while time.monotonic() < deadline and run.poll() is None:
            if readings.exists() and any(readings.rglob(".part-*")):
                break
            if readings.exists() and any(readings.rglob("*.parquet")):
                break
            time.sleep(0.002)
        assert run.poll() is None, "the sync finished before it could be killed"
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL

    # Every file a reader can see is whole.
    for path in (pipeline_env / "lake").rglob("*.parquet"):
        pq.read_table(path)

    outcome = run_sync(start, end, instance=dg.DagsterInstance.ephemeral())

    assert outcome.success, outcome.errors
    assert warehouse_rows(pipeline_env / "analytics.duckdb") == expected_rows(
        gateway.fleet, start, end
    )
