"""The client against the real sandbox gateway over loopback HTTP."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from freshliance_pipeline.api import errors, signing
from freshliance_pipeline.api.client import FreshlianceClient, RetryPolicy
from freshliance_pipeline.sandbox import FleetConfig
from freshliance_pipeline_tests.conftest import Gateway, served

NO_WAIT = RetryPolicy(attempts=4, initial_wait_s=0.0, max_wait_s=0.0)


@pytest.fixture(scope="module")
def big_fleet() -> Iterator[Gateway]:
    with served(FleetConfig(seed=3, devices=73, days=5)) as gw:
        yield gw


def client_for(gw: Gateway, **kwargs: object) -> FreshlianceClient:
    return FreshlianceClient(
        app_id=gw.app_id,
        private_key=gw.key,
        base_url=gw.url,
        retry=NO_WAIT,
        **kwargs,  # type: ignore[arg-type]
    )


def test_device_list_longer_than_a_page_returns_every_device_once(big_fleet: Gateway) -> None:
    expected = sorted(row["userDeviceId"] for row in big_fleet.fleet.device_rows())

    with client_for(big_fleet) as client:
        rows = client.user_devices()

    ids = [row["userDeviceId"] for row in rows]
    assert len(expected) == 73
    assert sorted(ids) == expected
    assert len(set(ids)) == len(ids)
    assert client.stats.calls["tracker.userDevice.page"] == 2  # 50 + 23


def test_user_info_is_the_account(gateway: Gateway) -> None:
    with client_for(gateway) as client:
        info = client.user_info()

    assert info == gateway.fleet.user_info()
    assert "@" in info["email"]


def test_trip_readings_equal_the_ground_truth(gateway: Gateway) -> None:
    fleet = gateway.fleet
    trip = next(t for t in fleet.trips if fleet.reading_count(t.trip_id, 0, 0, 2**62) > 120)
    begin, end = 0, 2**62

    with client_for(gateway) as client:
        rows = client.trip_probe_data(trip.trip_id, 0, begin, end)

    assert rows == fleet.reading_rows(trip.trip_id, 0, begin, end)
    assert client.stats.calls["tracker.tripData.pageProbeData"] == -(-len(rows) // 50)


def test_a_key_that_does_not_match_fails_at_once_naming_the_key_used(gateway: Gateway) -> None:
    other = signing.generate_private_key()
    with (
        FreshlianceClient(
            app_id=gateway.app_id, private_key=other, base_url=gateway.url, retry=NO_WAIT
        ) as client,
        pytest.raises(errors.InvalidRequestError) as caught,
    ):
        client.user_info()

    assert (caught.value.code, caught.value.sub_code) == ("40000", "invalid-signature")
    assert "FRESHLIANCE_PRIVATE_KEY" in str(caught.value)
    assert signing.key_fingerprint(other) in str(caught.value)
    assert client.stats.calls["tracker.userInfo.get"] == 1  # never retried


def test_an_unknown_app_id_is_named(gateway: Gateway) -> None:
    with (
        FreshlianceClient(
            app_id="999", private_key=gateway.key, base_url=gateway.url, retry=NO_WAIT
        ) as client,
        pytest.raises(errors.InvalidRequestError) as caught,
    ):
        client.user_info()

    assert caught.value.sub_code == "invalid-appId"
    assert "FRESHLIANCE_APP_ID" in str(caught.value)


def test_nothing_secret_in_error_messages(gateway: Gateway) -> None:
    other = signing.generate_private_key()
    with FreshlianceClient(
        app_id=gateway.app_id, private_key=other, base_url=gateway.url, retry=NO_WAIT
    ) as client:
        sent = client.envelope("tracker.userInfo.get", None)
        with pytest.raises(errors.FreshlianceError) as caught:
            client.user_info()

    text = str(caught.value) + repr(caught.value.__dict__)
    assert sent["sign"][:40] not in text
    assert signing.private_key_pem(other).splitlines()[1] not in text


class Scripted(httpx.BaseTransport):
    """Answers from a script of (status, body) pairs; a transport stand-in for faults the
    sandbox does not stage yet."""

    def __init__(self, script: list[tuple[int, object] | Exception]) -> None:
        self.script = script
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = self.script[min(self.seen, len(self.script) - 1)]
        self.seen += 1
        if isinstance(step, Exception):
            raise step
        status, body = step
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content)


OK = (200, {"code": "0", "msg": "success", "data": {"email": "a@b.c"}})


@pytest.mark.parametrize(
    "failure",
    [
        (503, b"busy"),
        (502, b""),
        (200, {"code": "10000", "subCode": "service-not-available"}),
        (200, {"code": 60000, "subCode": "request-call-limited"}),
        (200, {"code": "99999", "subCode": "unknown-error"}),
        (200, b'{"code": "0", "data": {"ema'),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["503", "502", "10000", "60000", "99999", "truncated", "connect", "read-timeout"],
)
def test_retryable_failures_are_retried(gateway: Gateway, failure: object) -> None:
    transport = Scripted([failure, failure, OK])  # type: ignore[list-item]

    with client_for(gateway, transport=transport) as client:
        info = client.user_info()

    assert info == {"email": "a@b.c"}
    assert transport.seen == 3
    assert client.stats.retries == 2


@pytest.mark.parametrize("code", ["20000", "30000", "40000", "50000"])
def test_final_codes_are_not_retried(gateway: Gateway, code: str) -> None:
    transport = Scripted([(200, {"code": code, "subCode": "x", "subMsg": "no"}), OK])

    with client_for(gateway, transport=transport) as client, pytest.raises(errors.GatewayError):
        client.user_info()

    assert transport.seen == 1


def test_retries_give_up_after_the_policy_attempts(gateway: Gateway) -> None:
    transport = Scripted([(503, b"")])

    with (
        client_for(gateway, transport=transport) as client,
        pytest.raises(errors.HTTPStatusError) as caught,
    ):
        client.user_info()

    assert caught.value.http_status == 503
    assert transport.seen == NO_WAIT.attempts


def test_clock_skew_is_reported_with_the_measured_offset(gateway: Gateway) -> None:
    behind = 15 * 60.0
    with (
        client_for(gateway, clock=lambda: time.time() - behind) as client,
        pytest.raises(errors.InvalidRequestError) as caught,
    ):
        client.user_info()

    assert caught.value.sub_code == "invalid-timestamp"
    assert caught.value.clock_offset_s is not None
    assert abs(caught.value.clock_offset_s + behind) < 5
    assert re.search(r"(899|900|901) s behind the gateway's", str(caught.value))
