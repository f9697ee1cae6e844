"""``freshliance-pipeline demo``: the whole chain against the bundled sandbox gateway.

A throwaway key pair is generated and registered with a sandbox on a free loopback port; the
main sync runs for the last seven complete UTC days; a summary is read back from the published
``analytics.duckdb``. The sandbox's world is anchored at today's 00:00 UTC, so every run on the
same day syncs the same data and prints the same counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from freshliance_pipeline.api import signing
from freshliance_pipeline.runner import SyncOutcome, last_days, run_sync
from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer

MARKER = ".freshliance-demo.json"
Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


EXAMPLE_QUERY = (
    "select trip_id, probe_type, direction, started_at, duration_s, peak_temperature_c "
    "from fct_excursions order by duration_s desc limit 5"
)
SUMMARY_MODELS = (
    "dim_devices",
    "dim_trips",
    "fct_readings",
    "fct_excursions",
    "fct_trip_summary",
)


@dataclass(frozen=True)
class DemoResult:
    outcome: SyncOutcome
    analytics_path: Path
    counts: dict[str, int]


def run_demo(
    data_dir: Path,
    *,
    days: int = 7,
    devices: int = 12,
    seed: int = 7,
    echo: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    data_dir = data_dir.resolve()
    fleet = Fleet(FleetConfig(seed=seed, devices=devices, days=30))
    anchor = datetime.fromtimestamp(fleet.anchor_ms / 1000, tz=UTC)
    prepare_sandbox_data_dir(data_dir, sandbox_world(fleet), echo=echo)
    start, end = last_days(days, anchor.date())

    key = signing.generate_private_key()
    saved = {name: os.environ.get(name) for name in _ENV_NAMES}
    with SandboxServer(fleet) as server:
        app_id = "demo-app"
        server.register_app(app_id, signing.public_key_pem(key))
        echo(f"sandbox gateway listening at {server.url}")
        os.environ.update(
            {
                "FRESHLIANCE_API_URL": server.url,
                "FRESHLIANCE_APP_ID": app_id,
                "FRESHLIANCE_PRIVATE_KEY": signing.private_key_pem(key),
                "FRESHLIANCE_DATA_DIR": str(data_dir),
                # The sandbox runs on this machine and sets no flow limit.
                "FRESHLIANCE_MAX_RPS": "0",
            }
        )
        os.environ.pop("FRESHLIANCE_PRIVATE_KEY_FILE", None)
        log_path = data_dir / "logs" / "demo-sync.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        echo(f"syncing {start} .. {end} into {data_dir} (dbt's log: {log_path})")
        try:
            # dagster-dbt echoes dbt's own log to stdout; keep the summary readable.
            with log_path.open("w") as log, contextlib.redirect_stdout(log):
                outcome = run_sync(start, end, log_level="WARNING")
        finally:
            _restore(saved)
    analytics = data_dir / "analytics.duckdb"
    counts = read_counts(analytics) if outcome.success else {}
    return DemoResult(outcome=outcome, analytics_path=analytics, counts=counts)


_ENV_NAMES = (
    "FRESHLIANCE_API_URL",
    "FRESHLIANCE_APP_ID",
    "FRESHLIANCE_PRIVATE_KEY",
    "FRESHLIANCE_PRIVATE_KEY_FILE",
    "FRESHLIANCE_DATA_DIR",
    "FRESHLIANCE_MAX_RPS",
)


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# What a sync writes into the data folder; the rest (sandbox keys, logs) is left alone.
SYNC_OUTPUTS = ("lake", "warehouse.duckdb", "warehouse.duckdb.wal", "analytics.duckdb")


def sandbox_world(fleet: Fleet) -> dict[str, object]:
    config = fleet.config
    anchor = datetime.fromtimestamp(fleet.anchor_ms / 1000, tz=UTC).isoformat()
    return {"seed": config.seed, "devices": config.devices, "days": config.days, "anchor": anchor}


def prepare_sandbox_data_dir(
    data_dir: Path, world: dict[str, object], *, clear: bool = True, echo: Echo = _quiet
) -> None:
    """Make ``data_dir`` hold data of this sandbox world only.

    Sandbox worlds move with the day they are anchored to, so data synced from yesterday's
    world is cleared (``clear``, the demo) before syncing today's, and the folders cleared are
    named. Without ``clear`` (the sandbox command) a mismatch is only reported. Only a folder
    marked as sandbox data is ever cleared: a folder holding a lake without the mark (real
    data, say) makes this refuse.
    """
    marker = data_dir / MARKER
    has_outputs = any((data_dir / name).exists() for name in SYNC_OUTPUTS)
    if has_outputs and not marker.exists():
        raise RuntimeError(
            f"{data_dir} holds a lake that did not come from the sandbox; set "
            "FRESHLIANCE_DATA_DIR to another folder for the demo"
        )
    if has_outputs and json.loads(marker.read_text()) != world:
        if not clear:
            echo(
                f"warning: {data_dir} holds data synced from another sandbox world "
                f"({marker.read_text()}); syncs against this one would mix the two. "
                "Run the demo to start over, or set FRESHLIANCE_DATA_DIR to another folder."
            )
            return
        echo(f"clearing {data_dir}'s data from an earlier sandbox world ({marker.read_text()})")
        for name in SYNC_OUTPUTS:
            path = data_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(world))


def read_counts(analytics: Path) -> dict[str, int]:
    with duckdb.connect(str(analytics), read_only=True) as connection:
        counts = {}
        for model in SUMMARY_MODELS:
            row = connection.execute(f"select count(*) from {model}").fetchone()
            counts[model] = int(row[0]) if row else 0
        for status, n in connection.execute(
            "select trip_status, count(*) from dim_trips group by 1 order by 1"
        ).fetchall():
            counts[f"trips {status}"] = int(n)
        for probe, n in connection.execute(
            "select probe_type, count(*) from fct_readings group by 1 order by 1"
        ).fetchall():
            counts[f"readings probe_type={probe}"] = int(n)
        for verdict, n in connection.execute(
            "select verdict, count(*) from fct_trip_summary where verdict is not null "
            "group by 1 order by 1"
        ).fetchall():
            counts[f"trip probes {verdict}"] = int(n)
        for reason, n in connection.execute(
            "select reason, count(*) from stg_freshliance__rejected_readings group by 1 order by 1"
        ).fetchall():
            counts[f"rejected {reason}"] = int(n)
    return counts
