"""The ``freshliance-pipeline`` command."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from freshliance_pipeline.api import errors, signing
from freshliance_pipeline.api.client import DEFAULT_URL, FreshlianceClient, RetryPolicy

if TYPE_CHECKING:
    # Annotations only: the runner imports Dagster, which commands like keygen do not need.
    from freshliance_pipeline.runner import SyncOutcome


@click.group()
def main() -> None:
    """Sync a Freshliance tracker account into Parquet and DuckDB."""
    # The single-run backfill policy is marked beta by Dagster; users cannot act on that.
    warnings.filterwarnings("ignore", message=".*backfill_policy.*")


def _data_dir() -> Path:
    return Path(os.environ.get("FRESHLIANCE_DATA_DIR") or "data")


@main.command()
@click.option("--days", default=7, show_default=True, help="Complete UTC days to sync.")
@click.option("--devices", default=12, show_default=True, help="Devices in the sandbox fleet.")
@click.option("--seed", default=7, show_default=True, help="Seed of the sandbox world.")
def demo(days: int, devices: int, seed: int) -> None:
    """Run the main job against the bundled sandbox gateway and summarize the result."""
    from freshliance_pipeline.demo import EXAMPLE_QUERY, run_demo

    try:
        result = run_demo(_data_dir(), days=days, devices=devices, seed=seed, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_checks(result.outcome)
    if not result.outcome.success:
        _echo_failures(result.outcome.errors)
        sys.exit(1)
    _echo_counts(result.counts)
    click.echo(f"\nanalytics file: {result.analytics_path}")
    click.echo(f'try: uv run freshliance-pipeline query "{EXAMPLE_QUERY}"')


@main.command()
@click.option("--start", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--end", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
def sync(start: object, end: object) -> None:
    """Sync snapshots, trips and the readings of START..END (UTC days, END included), then
    build the models and publish analytics.duckdb."""
    from freshliance_pipeline.assets.readings import daily_partitions
    from freshliance_pipeline.runner import SyncRangeError, check_range, run_sync

    start_day: date = start.date()  # type: ignore[attr-defined]
    end_day: date = end.date()  # type: ignore[attr-defined]
    try:
        # Before anything is printed or created: a range that cannot run is a usage error.
        check_range(start_day, end_day, daily_partitions.start.date(), datetime.now(UTC).date())
        _run_and_report(
            "sync",
            f"syncing {start_day} .. {end_day}",
            lambda: run_sync(start_day, end_day, log_level="WARNING"),
        )
    except SyncRangeError as exc:
        raise click.BadParameter(str(exc)) from exc


def _run_and_report(kind: str, what: str, run: Callable[[], SyncOutcome]) -> None:
    """Run a job with dbt's log in data/logs, then print each step and the row counts."""
    from freshliance_pipeline.demo import read_counts

    data_dir = _data_dir().resolve()
    log_path = data_dir / "logs" / f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"{what} into {data_dir} (dbt's log: {log_path})")
    # dagster-dbt echoes dbt's own log to stdout: keep it in the log file.
    with log_path.open("w") as log, contextlib.redirect_stdout(log):
        outcome = run()
    for step, ok in sorted(outcome.steps.items()):
        click.echo(f"  {step:<40} {'ok' if ok else 'FAILED'}")
    _echo_checks(outcome)
    if not outcome.success:
        _echo_failures(outcome.errors)
        sys.exit(1)
    _echo_counts(read_counts(data_dir / "analytics.duckdb"))


@main.command()
@click.option("--trip-id", "trip_ids", multiple=True, type=int, help="userDeviceTripId.")
@click.option("--trip-code", "trip_codes", multiple=True, help="Trip code (waybill number).")
def resync(trip_ids: tuple[int, ...], trip_codes: tuple[str, ...]) -> None:
    """Read these shipments' readings again whole, over the days they span, then rebuild the
    models. Other trips' readings are kept as they are."""
    from freshliance_pipeline.runner import SyncRangeError, run_resync

    if not trip_ids and not trip_codes:
        raise click.UsageError("name at least one --trip-id or --trip-code")
    try:
        _run_and_report(
            "resync",
            "re-syncing the readings of the trips named",
            lambda: run_resync(list(trip_ids), list(trip_codes), log_level="WARNING"),
        )
    except SyncRangeError as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_failures(failures: dict[str, str]) -> None:
    for step, message in failures.items():
        click.echo(f"step {step} failed: {message}", err=True)


def _echo_checks(outcome: SyncOutcome) -> None:
    """The asset checks (the readings' rejected share and dbt's tests): a count, and each
    failed one with what it found."""
    failed = {name: text for name, (passed, text) in outcome.checks.items() if not passed}
    if outcome.checks:
        click.echo(f"  checks: {len(outcome.checks) - len(failed)} passed, {len(failed)} failed")
    for name, description in sorted(failed.items()):
        click.echo(f"  check {name} FAILED: {description}", err=True)


def _echo_counts(counts: dict[str, int]) -> None:
    click.echo("\nrows:")
    width = max((len(name) for name in counts), default=0)
    for name, count in counts.items():
        click.echo(f"  {name:<{width}} {count:>8}")


@main.command()
def check() -> None:
    """One signed tracker.userInfo.get against the configured gateway."""
    from freshliance_pipeline.resources import FreshlianceResource

    app_id = os.environ.get("FRESHLIANCE_APP_ID", "")
    url = os.environ.get("FRESHLIANCE_API_URL") or DEFAULT_URL
    try:
        resource = FreshlianceResource(
            api_url=url,
            app_id=app_id,
            private_key=os.environ.get("FRESHLIANCE_PRIVATE_KEY") or None,
            private_key_file=os.environ.get("FRESHLIANCE_PRIVATE_KEY_FILE") or None,
        )
        key = resource.load_private_key()
        click.echo(f"gateway {url} appId {app_id or '(unset)'} key {signing.key_fingerprint(key)}")
        # One quick retry only: a person is waiting for the answer.
        retry = RetryPolicy(attempts=2, initial_wait_s=0.5, max_wait_s=1.0, throttled_for_s=5.0)
        with FreshlianceClient(app_id=app_id, private_key=key, base_url=url, retry=retry) as client:
            info = client.user_info()
    except errors.GatewayError as exc:
        click.echo(
            f"code={exc.code} subCode={exc.sub_code or ''} subMsg={exc.sub_msg or ''}", err=True
        )
        hint = errors.hint_for(exc.code or "", exc.sub_code)
        click.echo(f"check failed: {hint or exc}", err=True)
        sys.exit(1)
    except (errors.FreshlianceError, signing.KeyFormatError, ValueError) as exc:
        click.echo(f"check failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"email: {info.get('email')}")
    click.echo(f"timeZone: {info.get('timeZone')}")


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("freshliance-private-key.pem"),
    show_default=True,
    help="Where to write the private key (mode 600).",
)
def keygen(out: Path) -> None:
    """Make an RSA 2048 key pair: keep the private key, upload the printed public key."""
    out = out.expanduser()
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = signing.generate_private_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signing.private_key_pem(key))
    click.echo(f"private key written to {out} (set FRESHLIANCE_PRIVATE_KEY_FILE={out})")
    click.echo(f"fingerprint {signing.key_fingerprint(key)}; public key to upload:\n")
    click.echo(signing.public_key_pem(key))


@main.command()
@click.option("--devices", default=12, show_default=True, help="Devices in the fleet.")
@click.option("--days", default=30, show_default=True, help="Days of history before today.")
@click.option(
    "--interval-min",
    type=click.IntRange(1, 1440),
    default=None,
    help="Logging interval of every trip in minutes (default: each template's, 5 to 15).",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the sandbox world.")
@click.option("--port", default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the environment as KEY=VALUE lines once listening.",
)
@click.option(
    "--clock",
    "clock_mode",
    type=click.Choice(["real", "frozen"]),
    default="real",
    show_default=True,
    help="real: the world moves on with the wall clock; frozen: it stays at today 00:00 UTC.",
)
@click.option(
    "--quirk",
    "quirk_names",
    multiple=True,
    # The names of freshliance_pipeline.sandbox.options.QUIRK_FLAGS, spelled out so that
    # every other command starts without importing the sandbox.
    type=click.Choice(
        [
            "code-as-number",
            "data-as-string",
            "longs-as-strings",
            "rows-reversed",
            "rows-scrambled",
            "sign-responses",
        ]
    ),
    help="Turn on a wire quirk (repeatable).",
)
@click.option(
    "--fault",
    "fault_specs",
    multiple=True,
    metavar="KIND:RATE[:BURST]",
    help="Inject a fault at a rate, e.g. http-503:0.05:3 (repeatable).",
)
@click.option("--flow-limit", default=None, metavar="RPS[:BURST]", help="Per-app token bucket.")
@click.option("--webhook-url", default=None, help="POST webhook pushes here as data uploads.")
@click.option(
    "--bad-rows",
    is_flag=True,
    default=False,
    help="Serve some reading rows a client must not trust (see the sandbox README, bad rows).",
)
def sandbox(
    devices: int,
    days: int,
    interval_min: int | None,
    seed: int,
    port: int,
    env_file: Path | None,
    clock_mode: str,
    quirk_names: tuple[str, ...],
    fault_specs: tuple[str, ...],
    flow_limit: str | None,
    webhook_url: str | None,
    bad_rows: bool,
) -> None:
    """Serve the sandbox gateway on loopback with a freshly registered app."""
    from freshliance_pipeline.demo import prepare_sandbox_data_dir, sandbox_world
    from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer, options

    config = FleetConfig(
        seed=seed, devices=devices, days=days, interval_min=interval_min, bad_rows=bad_rows
    )
    clock = Clock.real_time() if clock_mode == "real" else Clock(config.anchor)
    fleet = Fleet(config, clock)
    try:
        quirks = options.quirks_from_flags(quirk_names)
        faults = options.fault_plan_from_specs(fault_specs, seed=seed)
        limit = options.flow_limit_from_spec(flow_limit) if flow_limit else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        # Syncs pointed at this sandbox land in the same folder: mark it as sandbox data.
        echo = functools.partial(click.echo, err=True)
        prepare_sandbox_data_dir(
            _data_dir().resolve(), sandbox_world(fleet), clear=False, echo=echo
        )
    except RuntimeError as exc:
        click.echo(f"warning: {exc}", err=True)
    key = signing.generate_private_key()
    key_dir = _data_dir().resolve() / "sandbox"
    key_dir.mkdir(parents=True, exist_ok=True)
    # One key file per sandbox process, so a second sandbox does not break the first.
    key_path = key_dir / f"app-private-key-{os.getpid()}.pem"
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signing.private_key_pem(key))
    server = SandboxServer(
        fleet, port=port, quirks=quirks, faults=faults, flow_limit=limit, webhook_url=webhook_url
    )
    with server:
        app_id = "sandbox-app"
        server.register_app(app_id, signing.public_key_pem(key))
        env = {
            "FRESHLIANCE_API_URL": server.url,
            "FRESHLIANCE_APP_ID": app_id,
            "FRESHLIANCE_PRIVATE_KEY_FILE": str(key_path),
            "FRESHLIANCE_SANDBOX_ADMIN_URL": server.admin_url,
        }
        if quirks.sign_responses:
            # Bare base64 DER: one line, so the env file stays KEY=VALUE.
            pem = server.gateway.platform_public_key_pem()
            env["FRESHLIANCE_PLATFORM_PUBLIC_KEY"] = "".join(pem.splitlines()[1:-1])
        lines = [f"{name}={value}" for name, value in env.items()]
        if env_file:
            # Written once listening, whole or not at all, so scripts can wait for the file.
            tmp = env_file.with_suffix(env_file.suffix + ".tmp")
            tmp.write_text("\n".join(lines) + "\n")
            tmp.replace(env_file)
        click.echo(f"sandbox gateway ready ({clock_mode} clock); point the pipeline at it with:")
        for line in lines:
            click.echo(f"export {line}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
        finally:
            key_path.unlink(missing_ok=True)


@main.command()
@click.argument("sql")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB file to query (default: analytics.duckdb in FRESHLIANCE_DATA_DIR).",
)
def query(sql: str, path: Path | None) -> None:
    """Run SQL against the published analytics.duckdb (read-only) and print the result."""
    import duckdb

    target = path or _data_dir() / "analytics.duckdb"
    if not target.exists():
        raise click.ClickException(f"{target} does not exist yet: run a sync or the demo first")
    with duckdb.connect(str(target), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        try:
            relation = connection.sql(sql)
        except duckdb.Error as exc:
            raise click.ClickException(str(exc)) from exc
        if relation is not None:
            relation.show(max_rows=100, max_width=200)
