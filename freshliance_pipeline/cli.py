"""The ``freshliance-pipeline`` command."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from datetime import date
from pathlib import Path

import click

from freshliance_pipeline.api import errors, signing
from freshliance_pipeline.api.client import DEFAULT_URL, FreshlianceClient


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

    result = run_demo(_data_dir(), days=days, devices=devices, seed=seed, echo=click.echo)
    if not result.outcome.success:
        for step, message in result.outcome.errors.items():
            click.echo(f"step {step} failed:\n{message}", err=True)
        sys.exit(1)
    click.echo("\nrows:")
    for name, count in result.counts.items():
        click.echo(f"  {name:<28} {count:>8}")
    click.echo(f"\nanalytics file: {result.analytics_path}")
    click.echo(f'try: uv run freshliance-pipeline query "{EXAMPLE_QUERY}"')


@main.command()
@click.option("--start", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--end", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
def sync(start: object, end: object) -> None:
    """Sync snapshots, trips and the readings of START..END (UTC days, END included), then
    build the models and publish analytics.duckdb."""
    from freshliance_pipeline.runner import run_sync

    start_day: date = start.date()  # type: ignore[attr-defined]
    end_day: date = end.date()  # type: ignore[attr-defined]
    outcome = run_sync(start_day, end_day)
    for step, ok in outcome.steps.items():
        click.echo(f"{step}: {'ok' if ok else 'failed'}")
    for step, message in outcome.errors.items():
        click.echo(f"step {step} failed:\n{message}", err=True)
    sys.exit(0 if outcome.success else 1)


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
        with FreshlianceClient(app_id=app_id, private_key=key, base_url=url) as client:
            info = client.user_info()
    except (errors.FreshlianceError, signing.KeyFormatError, ValueError) as exc:
        if isinstance(exc, errors.GatewayError):
            click.echo(
                f"code={exc.code} subCode={exc.sub_code or ''} subMsg={exc.sub_msg or ''}",
                err=True,
            )
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
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = signing.generate_private_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signing.private_key_pem(key))
    click.echo(f"private key written to {out} (set FRESHLIANCE_PRIVATE_KEY_FILE={out})")
    click.echo(f"fingerprint {signing.key_fingerprint(key)}; public key to upload:\n")
    click.echo(signing.public_key_pem(key))


@main.command()
@click.option("--devices", default=12, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--port", default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the environment as KEY=VALUE lines once listening.",
)
def sandbox(devices: int, days: int, seed: int, port: int, env_file: Path | None) -> None:
    """Serve the sandbox gateway on loopback with a freshly registered app."""
    from freshliance_pipeline.demo import prepare_sandbox_data_dir, sandbox_world
    from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer

    fleet = Fleet(FleetConfig(seed=seed, devices=devices, days=days))
    try:
        # Syncs pointed at this sandbox land in the same folder: mark it as sandbox data.
        prepare_sandbox_data_dir(_data_dir().resolve(), sandbox_world(fleet))
    except RuntimeError as exc:
        click.echo(f"warning: {exc}", err=True)
    key = signing.generate_private_key()
    key_dir = _data_dir().resolve() / "sandbox"
    key_dir.mkdir(parents=True, exist_ok=True)
    key_path = key_dir / "app-private-key.pem"
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signing.private_key_pem(key))
    with SandboxServer(fleet, port=port) as server:
        app_id = "sandbox-app"
        server.register_app(app_id, signing.public_key_pem(key))
        env = {
            "FRESHLIANCE_API_URL": server.url,
            "FRESHLIANCE_APP_ID": app_id,
            "FRESHLIANCE_PRIVATE_KEY_FILE": str(key_path),
        }
        lines = [f"{name}={value}" for name, value in env.items()]
        if env_file:
            tmp = env_file.with_suffix(env_file.suffix + ".tmp")
            tmp.write_text("\n".join(lines) + "\n")
            tmp.replace(env_file)
        click.echo("sandbox gateway ready; point the pipeline at it with:")
        for line in lines:
            click.echo(f"export {line}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


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
        connection.sql(sql).show(max_rows=100)
