"""Each injected fault, the flow limit and latency: the request that triggers it and exactly what
the client gets; then the project's own client riding through them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import groupby

import httpx
import pytest

from freshliance_pipeline.api.client import FreshlianceClient, RetryPolicy
from freshliance_pipeline.sandbox import (
    FaultPlan,
    FaultRule,
    Fleet,
    FleetConfig,
    FlowLimit,
    Gateway,
    Latency,
    SandboxServer,
)
from freshliance_pipeline.sandbox.faults import (
    FAULT_KINDS,
    NOT_JSON_BODY,
    FaultInjector,
    error_page,
)
from freshliance_pipeline.sandbox.gateway import AppRegistry, serialise
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

INFO = "tracker.userInfo.get"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Fleet(FleetConfig(devices=4, days=3, anchor_ms=ANCHOR_MS))) as server:
        yield server


@pytest.fixture
def caller(server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = server.new_app()
    with httpx.Client(timeout=5) as client:
        yield SignedCaller(client, server.url, app_id, key)
    server.gateway.faults = FaultPlan()
    server.gateway.flow_limit = None


def ok_body(server: SandboxServer) -> bytes:
    info = server.fleet.user_info()
    return serialise({"code": "0", "msg": "success", "subCode": "", "subMsg": "", "data": info})


@pytest.mark.parametrize(
    ("kind", "code", "sub_code", "sub_msg"),
    [
        ("code-10000", "10000", "service-not-available", "The service is temporarily unavailable"),
        ("code-60000", "60000", "request-call-limited", "Request call limit reached"),
        ("code-99999", "99999", "unknown-error", "Unknown error"),
    ],
)
def test_code_faults_answer_the_documented_envelope(
    caller: SignedCaller, server: SandboxServer, kind: str, code: str, sub_code: str, sub_msg: str
) -> None:
    server.gateway.faults = FaultPlan(script=(kind, None))  # type: ignore[arg-type]

    faulted, after = caller.call(INFO), caller.call(INFO)

    msg = {"10000": "Service error", "60000": "Flow limit", "99999": "Unknown error"}[code]
    assert faulted == {"code": code, "msg": msg, "subCode": sub_code, "subMsg": sub_msg}
    assert after["code"] == "0"
    assert server.counts.faults()[kind] >= 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_faults_answer_a_proxy_error_page(
    caller: SignedCaller, server: SandboxServer, status: int
) -> None:
    server.gateway.faults = FaultPlan(script=(f"http-{status}",))  # type: ignore[arg-type]

    response = caller.post_raw(caller.params(INFO))

    assert response.status_code == status
    assert response.headers["content-type"] == "text/html"
    assert response.content == error_page(status)
    assert f"<title>{status} " in response.text


def test_a_reset_drops_the_connection_without_an_answer(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.faults = FaultPlan(script=("reset",))
    before = server.counts.by_code().get("reset", 0)

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        caller.post_raw(caller.params(INFO))

    assert caller.call(INFO)["code"] == "0"
    assert server.counts.by_code()["reset"] == before + 1


def test_a_truncated_body_is_the_first_half_of_the_real_one(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.faults = FaultPlan(script=("truncated",))

    response = caller.post_raw(caller.params(INFO))

    whole = ok_body(server)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == whole[: len(whole) // 2]


def test_a_not_json_body_is_an_html_page_with_status_200(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.faults = FaultPlan(script=("not-json",))

    response = caller.post_raw(caller.params(INFO))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == NOT_JSON_BODY


def test_a_slow_body_trips_a_short_read_timeout_and_completes_for_a_patient_client(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.faults = FaultPlan(script=("slow-body", "slow-body"), slow_body_pause_ms=800)
    impatient = httpx.Timeout(5.0, read=0.2)

    with pytest.raises(httpx.ReadTimeout):
        caller.client.post(caller.url, json=caller.params(INFO), timeout=impatient)
    patient = caller.post_raw(caller.params(INFO))

    assert patient.status_code == 200 and patient.content == ok_body(server)


def test_latency_delays_the_answer(caller: SignedCaller, server: SandboxServer) -> None:
    server.gateway.faults = FaultPlan(latency=Latency(fixed_ms=300))

    started = time.monotonic()
    envelope = caller.call(INFO)

    assert envelope["code"] == "0"
    assert time.monotonic() - started >= 0.3


def test_latency_is_fixed_plus_a_capped_long_tail_and_replays_for_a_seed() -> None:
    plan = FaultPlan(latency=Latency(fixed_ms=20, tail_ms=10, tail_alpha=1.2, max_ms=5_000), seed=3)

    first, second = FaultInjector(plan), FaultInjector(plan)
    delays = [first.decide(INFO).delay_s for _ in range(2_000)]
    replayed = [second.decide(INFO).delay_s for _ in range(2_000)]

    ordered = sorted(delays)
    assert delays == replayed
    assert all(0.02 <= d <= 5.0 for d in delays)
    median, p99 = ordered[1_000], ordered[1_980]
    assert median < 0.04 < 0.2 < p99


def test_rates_start_bursts_deterministically_for_a_seed_and_only_on_their_methods() -> None:
    rule = FaultRule("code-10000", rate=0.1, burst=3, methods=("tracker.tripData.pageProbeData",))
    plan = FaultPlan(rules=(rule,), seed=11)

    replay_a = FaultInjector(plan)
    replay_b = FaultInjector(plan)
    run_a = [replay_a.decide("tracker.tripData.pageProbeData").kind for _ in range(600)]
    run_b = [replay_b.decide("tracker.tripData.pageProbeData").kind for _ in range(600)]
    other = FaultInjector(FaultPlan(rules=(rule,), seed=12))
    run_c = [other.decide("tracker.tripData.pageProbeData").kind for _ in range(600)]
    never = FaultInjector(plan)
    info = [never.decide(INFO).kind for _ in range(600)]

    assert run_a == run_b != run_c
    bursts = [len(list(g)) for kind, g in groupby(run_a) if kind is not None]
    finished = bursts[:-1] if run_a[-1] is not None else bursts  # the last may be cut off
    assert finished and all(length % 3 == 0 for length in finished)
    assert 0.15 < run_a.count("code-10000") / 600 < 0.45
    assert info == [None] * 600


def test_a_script_runs_first_then_rates_apply() -> None:
    plan = FaultPlan(rules=(FaultRule("http-502", rate=1.0),), script=(None, "reset", None))
    injector = FaultInjector(plan)

    kinds = [injector.decide(INFO).kind for _ in range(5)]

    assert kinds == [None, "reset", None, "http-502", "http-502"]


def test_fault_plans_read_from_json_and_reject_unknown_kinds() -> None:
    plan = FaultPlan.from_mapping(
        {
            "rules": [{"kind": "http-503", "rate": 0.5, "burst": 2, "methods": [INFO]}],
            "script": ["reset", None],
            "latency": {"fixed_ms": 5},
            "seed": 4,
        }
    )

    assert plan.rules == (FaultRule("http-503", 0.5, 2, (INFO,)),)
    assert plan.script == ("reset", None) and plan.latency == Latency(fixed_ms=5) and plan.seed == 4
    for bad in ({"script": ["explode"]}, {"rules": [{"kind": "reset", "rate": 2}]}, {"x": 1}):
        with pytest.raises(ValueError):
            FaultPlan.from_mapping(bad)


def test_the_flow_limit_throttles_each_app_by_its_own_token_bucket(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.flow_limit = FlowLimit(rps=0.001, burst=2)
    other_id, other_key = server.new_app()
    other = SignedCaller(caller.client, caller.url, other_id, other_key)
    before = server.counts.throttled

    codes = [caller.call(INFO)["code"] for _ in range(3)]
    throttled = caller.call(INFO)

    assert codes == ["0", "0", "60000"]
    assert throttled == {
        "code": "60000",
        "msg": "Flow limit",
        "subCode": "request-call-limited",
        "subMsg": "Request call limit reached",
    }
    assert other.call(INFO)["code"] == "0"
    assert server.counts.throttled == before + 2


def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    registry = AppRegistry()
    gateway = Gateway(
        Fleet(FleetConfig(devices=3, days=2, anchor_ms=ANCHOR_MS)),
        registry,
        flow_limit=FlowLimit(rps=2.0, burst=1),
        monotonic=lambda: now[0],
    )
    limiter = gateway._limiter
    assert limiter is not None

    first, second = limiter.allow("a"), limiter.allow("a")
    now[0] += 0.4
    too_soon = limiter.allow("a")
    now[0] += 0.1
    refilled = limiter.allow("a")

    assert (first, second, too_soon, refilled) == (True, False, False, True)


def test_the_project_client_rides_through_every_retryable_fault(server: SandboxServer) -> None:
    app_id, key = server.new_app()
    # Every kind but the slow body, which a patient client simply waits for.
    script = tuple(kind for kind in FAULT_KINDS if kind != "slow-body")
    server.gateway.faults = FaultPlan(script=script)
    retry = RetryPolicy(attempts=10, initial_wait_s=0.0, max_wait_s=0.0)

    try:
        with FreshlianceClient(
            app_id=app_id, private_key=key, base_url=server.url, retry=retry
        ) as client:
            info = client.user_info()
    finally:
        server.gateway.faults = FaultPlan()

    assert info == server.fleet.user_info()
    assert client.stats.retries == 9
