"""The admin endpoint: the clock, the switches, the accounting and the ground truth over JSON,
for loopback clients only."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest

from freshliance_pipeline.api.signing import load_public_key, public_key_pem
from freshliance_pipeline.sandbox import (
    AppRegistry,
    Clock,
    FaultPlan,
    Fleet,
    FleetConfig,
    SandboxServer,
    WireQuirks,
    create_app,
)
from freshliance_pipeline.sandbox.world import DAY, HOUR
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

INFO = "tracker.userInfo.get"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    fleet = Fleet(FleetConfig(devices=5, days=5, anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    with SandboxServer(fleet) as server:
        yield server


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.admin_url, timeout=30) as client:
        yield client
    server.gateway.quirks = WireQuirks()
    server.gateway.faults = FaultPlan()
    server.gateway.flow_limit = None
    server.fleet.clock.set(ANCHOR_MS)
    server.fleet.clock.freeze()


@pytest.fixture
def caller(server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, server.url, app_id, key)


def test_state_shows_the_clock_the_world_and_every_switch(
    admin: httpx.Client, server: SandboxServer
) -> None:
    state = admin.get(server.admin_url).json()

    assert state["clock"] == {"now_ms": ANCHOR_MS, "mode": "frozen", "speed": 1.0}
    assert state["fleet"] == {
        "seed": 7,
        "devices": 5,
        "days": 5,
        "anchor_ms": ANCHOR_MS,
        "interval_min": None,
        "late_uploads": True,
    }
    assert state["quirks"] == WireQuirks().as_dict()
    assert state["faults"] == FaultPlan().as_dict() and state["flow_limit"] is None
    assert set(state["counts"]) >= {"by_method", "by_app", "throttled", "faulted", "faults"}
    assert state["webhook"]["url"] is None


def test_the_clock_is_set_advanced_and_started(admin: httpx.Client, server: SandboxServer) -> None:
    set_to = admin.post("/clock", json={"set_ms": ANCHOR_MS - DAY}).json()
    advanced = admin.post("/clock", json={"advance_ms": HOUR}).json()
    running = admin.post("/clock", json={"mode": "real", "speed": 3600.0}).json()
    bad = admin.post("/clock", json={"mode": "sideways"})
    not_int = admin.post("/clock", json={"advance_ms": 1.5})

    assert set_to["now_ms"] == ANCHOR_MS - DAY
    assert advanced["now_ms"] == ANCHOR_MS - DAY + HOUR
    assert running["mode"] == "real" and running["speed"] == 3600.0
    assert server.fleet.clock.now_ms() >= ANCHOR_MS - DAY + HOUR
    assert bad.status_code == 400 and "mode" in bad.json()["error"]
    assert not_int.status_code == 400


def test_quirks_set_over_admin_shape_the_next_answer(
    admin: httpx.Client, caller: SignedCaller
) -> None:
    changed = admin.post("/quirks", json={"code_as_number": True}).json()
    unknown = admin.post("/quirks", json={"code_as_text": True})

    assert changed == {**WireQuirks().as_dict(), "code_as_number": True}
    assert caller.call(INFO)["code"] == 0
    assert unknown.status_code == 400 and "unknown quirks" in unknown.json()["error"]


def test_faults_and_flow_limit_set_over_admin(admin: httpx.Client, caller: SignedCaller) -> None:
    plan = admin.post("/faults", json={"script": ["http-502"]}).json()
    response = caller.post_raw(caller.params(INFO))
    cleared = admin.post("/faults", json={}).json()
    limit = admin.post("/flow-limit", json={"rps": 0.001, "burst": 1}).json()
    codes = [caller.call(INFO)["code"] for _ in range(2)]
    removed = admin.post("/flow-limit", json={}).json()
    bad = admin.post("/faults", json={"rules": [{"kind": "meteor"}]})

    assert plan["script"] == ["http-502"] and response.status_code == 502
    assert cleared == FaultPlan().as_dict()
    assert limit == {"flow_limit": {"rps": 0.001, "burst": 1}} and codes == ["0", "60000"]
    assert removed == {"flow_limit": None} and caller.call(INFO)["code"] == "0"
    assert bad.status_code == 400


def test_counts_per_method_app_throttled_and_faulted(
    admin: httpx.Client, caller: SignedCaller
) -> None:
    admin.post("/counts/reset")
    admin.post("/faults", json={"script": ["reset", "code-99999"]})
    with pytest.raises(httpx.TransportError):
        caller.post_raw(caller.params(INFO))
    caller.call(INFO)
    caller.call(INFO)

    counts = admin.get("/counts").json()

    assert counts["total"] == 3
    assert counts["by_method"] == {INFO: 3}
    assert counts["by_app"] == {caller.app_id: {INFO: 3}}
    assert counts["by_code"] == {"reset": 1, "99999": 1, "0": 1}
    assert counts["faulted"] == 2 and counts["faults"] == {"reset": 1, "code-99999": 1}
    assert counts["throttled"] == 0


def test_truth_counts_and_rows_for_a_window(admin: httpx.Client, server: SandboxServer) -> None:
    fleet = server.fleet
    trip = next(t for t in fleet.trips if t.status(ANCHOR_MS) == "ing")
    args = {"begin_ms": ANCHOR_MS - DAY, "end_ms": ANCHOR_MS}

    whole = admin.get("/truth", params=args).json()
    one = admin.get("/truth", params={**args, "trip_id": trip.trip_id, "probe_type": 0, "rows": 1})
    missing = admin.get("/truth", params={"end_ms": ANCHOR_MS})

    counts = fleet.truth_counts(ANCHOR_MS - DAY, ANCHOR_MS)
    assert whole == {"now_ms": ANCHOR_MS, **counts}
    body = one.json()
    assert body["rows"] == fleet.ground_truth(
        ANCHOR_MS - DAY, ANCHOR_MS, trip_id=trip.trip_id, probe_type=0
    )
    assert body["visible"] == len(body["rows"]) and body["rows_truncated"] is False
    assert missing.status_code == 400 and "begin_ms" in missing.json()["error"]


def test_the_platform_key_is_published_as_pem_and_bare_base64(
    admin: httpx.Client, server: SandboxServer
) -> None:
    published = admin.get("/platform-key").json()

    assert published["public_key_pem"] == server.gateway.platform_public_key_pem()
    key = load_public_key(published["public_key_base64"])
    assert public_key_pem(key) == published["public_key_pem"]


def test_admin_answers_loopback_clients_only() -> None:
    fleet = Fleet(FleetConfig(devices=3, days=2, anchor_ms=ANCHOR_MS))
    app = create_app(fleet, AppRegistry())

    async def from_afar() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.get("/admin")

    response = anyio.run(from_afar)

    assert response.status_code == 403
    assert response.json() == {"error": "admin endpoints answer loopback clients only"}
