"""Webhook pushes to a small local receiver: the docs' payload shapes, seconds timestamps, and
exactly the readings that were uploaded while the clock advanced."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer
from freshliance_pipeline.sandbox.build import OFFLINE_DEVICE_INDEX
from freshliance_pipeline.sandbox.webhook import MAX_ROWS
from freshliance_pipeline.sandbox.world import DAY, HOUR
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS

# The row keys of the docs' push examples (freshliance-api.md section 7.2 and 7.3).
DOCS_BUILT_IN_KEYS = {"temperature", "humidity", "light", "shock", "dataTime"}
DOCS_EXTERNAL_KEYS = {"temperature", "humidity", "dataTime"}
DOCS_TOP_KEYS = {"dataType", "deviceCode", "pushTime", "data"}


class Receiver:
    """An HTTP server on loopback that keeps every JSON body POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads the bodies, not a log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    fleet = Fleet(FleetConfig(anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    with SandboxServer(fleet) as server:
        yield server


def kind(body: dict[str, Any]) -> str:
    """Which push it is, from the fields present (dataType is 0 in the docs' examples)."""
    row = body["data"][0]
    if "rsrp" in row:
        return "internet"
    if "latitude" in row:
        return "location"
    return "measure"


def test_pushes_carry_exactly_the_uploaded_readings_in_the_docs_shape(
    server: SandboxServer, receiver: Receiver
) -> None:
    fleet = server.fleet
    server.webhooks.configure(receiver.url)
    # Uploads lag recording by days at most, so a week before covers everything they can hold.
    window = (ANCHOR_MS - 7 * DAY, ANCHOR_MS + DAY)
    before = {(r["deviceCode"], r["probeType"], r["ts"]) for r in fleet.ground_truth(*window)}

    fleet.clock.advance(3 * HOUR)
    delivered = server.webhooks.pump()

    after = fleet.ground_truth(*window)
    new = [r for r in after if (r["deviceCode"], r["probeType"], r["ts"]) not in before]
    bodies = receiver.bodies
    assert delivered == len(bodies) > 0 and server.webhooks.stats()["failed"] == 0
    assert all(set(b) == DOCS_TOP_KEYS and b["dataType"] == 0 for b in bodies)
    assert all(ANCHOR_MS // 1000 < b["pushTime"] <= fleet.clock.now_ms() // 1000 for b in bodies)
    measures = [b for b in bodies if kind(b) == "measure"]
    pushed = sorted(
        (b["deviceCode"], row["dataTime"], row["temperature"])
        for b in measures
        for row in b["data"]
    )
    expected = sorted((r["deviceCode"], r["ts"] // 1000, r["temperature"]) for r in new)
    assert pushed == expected
    for body in measures:
        keys = set().union(*(set(row) for row in body["data"]))
        assert keys <= DOCS_BUILT_IN_KEYS and {"temperature", "dataTime"} <= keys
        assert len(body["data"]) <= MAX_ROWS
    internet = [b for b in bodies if kind(b) == "internet"]
    assert internet and all(set(b["data"][0]) == {"rsrp", "power", "dataTime"} for b in internet)
    assert all(
        -110 <= b["data"][0]["rsrp"] <= -65 and 1 <= b["data"][0]["power"] <= 100 for b in internet
    )
    locations = [row for b in bodies if kind(b) == "location" for row in b["data"]]
    assert locations and all(set(row) == {"longitude", "latitude", "dataTime"} for row in locations)


def test_external_probe_pushes_and_a_late_upload_arrive_as_one_push_per_upload(
    server: SandboxServer, receiver: Receiver
) -> None:
    fleet = server.fleet
    offline = fleet.latest_trip(fleet.devices[OFFLINE_DEVICE_INDEX])
    assert offline is not None
    spell = next(s for s in offline.offline if s.start_ms <= ANCHOR_MS < s.end_ms)
    server.webhooks.configure(receiver.url)

    fleet.clock.set(spell.end_ms)
    server.webhooks.pump()

    late = [
        b
        for b in receiver.bodies
        if b["deviceCode"] == offline.device_code and b["pushTime"] == spell.end_ms // 1000
    ]
    measured = [row for b in late if kind(b) == "measure" for row in b["data"]]
    held = fleet.reading_rows(
        offline.trip_id, 0, spell.start_ms - offline.upload_ms + 1, spell.end_ms
    )
    assert len(measured) >= len(held) > 8
    assert all(
        row["dataTime"] <= b["pushTime"] for b in late for row in b["data"] if "temperature" in row
    )
    external = [
        b
        for b in receiver.bodies
        if kind(b) == "measure" and all(set(row) <= DOCS_EXTERNAL_KEYS for row in b["data"])
    ]
    assert external


def test_table_data_types_and_a_failing_receiver_is_counted(
    server: SandboxServer, receiver: Receiver
) -> None:
    fleet = server.fleet
    server.webhooks.configure(receiver.url, data_types="table")

    fleet.clock.advance(HOUR)
    server.webhooks.pump()
    receiver.status = 500
    fleet.clock.advance(HOUR)
    server.webhooks.pump()

    types = {kind(b): b["dataType"] for b in receiver.bodies}
    assert types["internet"] == 3 and types["location"] == 4
    assert {b["dataType"] for b in receiver.bodies if kind(b) == "measure"} <= {1, 2}
    stats = server.webhooks.stats()
    assert stats["failed"] > 0 and stats["last_error"] == "HTTP 500"


def test_the_admin_clock_drives_pushes(server: SandboxServer, receiver: Receiver) -> None:
    httpx.post(f"{server.admin_url}/webhook", json={"url": receiver.url}).raise_for_status()

    moved = httpx.post(f"{server.admin_url}/clock", json={"advance_ms": 2 * HOUR}).json()

    assert moved["now_ms"] == ANCHOR_MS + 2 * HOUR
    assert moved["webhook_delivered"] == len(receiver.bodies) > 0
    assert httpx.post(f"{server.admin_url}/webhook/pump").json() == {"delivered": 0}
