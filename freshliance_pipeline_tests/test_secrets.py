"""No private key, signature or signed string reaches a log, the Dagster event log or the lake.

A sync runs through a recording proxy on loopback, so the test knows every ``sign`` value and
every signed string that went over the wire, then searches every file the run left behind.
"""

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from freshliance_pipeline.api import signing
from freshliance_pipeline.runner import run_sync
from freshliance_pipeline_tests.conftest import Gateway


class RecordingProxy:
    """Forwards POSTs to ``target`` and keeps each request body."""

    def __init__(self, target: str) -> None:
        self.bodies: list[bytes] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.bodies.append(body)
                answer = httpx.post(
                    target, content=body, headers={"content-type": "application/json"}
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def test_no_secret_in_any_log_event_log_or_lake_file(
    gateway: Gateway,
    pipeline_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug_log: Path,
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    anchor = datetime.fromtimestamp(gateway.fleet.anchor_ms / 1000, tz=UTC).date()
    day = anchor - timedelta(days=1)
    console = tmp_path / "console.log"

    with RecordingProxy(gateway.url) as proxy:
        monkeypatch.setenv("FRESHLIANCE_API_URL", proxy.url)
        with (
            console.open("w") as out,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
        ):
            outcome = run_sync(day, day, instance=dg.DagsterInstance.get(), log_level="DEBUG")

    assert outcome.success, outcome.errors
    requests = [json.loads(body) for body in proxy.bodies]
    assert len(requests) > 20
    needles = {request["sign"] for request in requests}
    needles |= {signing.string_to_sign(request) for request in requests}
    pem = signing.private_key_pem(gateway.key)
    needles |= {line for line in pem.splitlines() if "-----" not in line}
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    assert any(p.name.endswith(".db") for p in files)  # the instance's event log
    assert console.stat().st_size > 0 and debug_log.stat().st_size > 0

    texts = {p: readable(p) for p in files}
    hits = [(str(p), n[:24]) for p, text in texts.items() for n in needles if n.encode() in text]

    assert hits == []
    # The search does see inside the files: values the run did write are found.
    device_code = gateway.fleet.trips[0].device_code.encode()
    assert any(device_code in text for p, text in texts.items() if p.suffix == ".parquet")
    assert any(outcome.run_id.encode() in text for p, text in texts.items() if p.suffix == ".db")


def readable(path: Path) -> bytes:
    """A file's bytes, plus the decoded rows of the columnar files that compress their text."""
    raw = path.read_bytes()
    if path.suffix == ".parquet":
        return raw + repr(pq.read_table(path).to_pylist()).encode()
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
            rows = [con.execute(f'select * from "{s}"."{t}"').fetchall() for s, t in tables]
        return raw + repr(rows).encode()
    return raw
