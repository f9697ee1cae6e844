"""Each wire quirk: off by default (the docs' example shapes, byte for byte), and when on, the
exact answer a request gets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from freshliance_pipeline.api import errors
from freshliance_pipeline.api.client import FreshlianceClient
from freshliance_pipeline.api.signing import (
    canonical_json,
    generate_private_key,
    load_public_key,
    public_key_pem,
    string_to_sign,
    verify,
)
from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer, WireQuirks
from freshliance_pipeline.sandbox.quirks import LONG_FIELDS
from freshliance_pipeline.sandbox.world import DAY, HOUR
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

READINGS = "tracker.tripData.pageProbeData"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(
        Fleet(FleetConfig(devices=30, anchor_ms=ANCHOR_MS), Clock(ANCHOR_MS))
    ) as server:
        yield server


@pytest.fixture
def caller(server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, server.url, app_id, key)
    server.gateway.quirks = WireQuirks()
    server.fleet.clock.set(ANCHOR_MS)


def success(data: Any) -> dict[str, Any]:
    return {"code": "0", "msg": "success", "subCode": "", "subMsg": "", "data": data}


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def recording_trip(fleet: Fleet) -> Any:
    """A two-probe trip recording at the anchor, online from an hour before to hours after."""
    return next(
        t
        for t in fleet.trips
        if t.status(ANCHOR_MS) == "ing"
        and t.actual_begin_ms < ANCHOR_MS - 6 * HOUR
        and t.actual_end_ms > ANCHOR_MS + 4 * HOUR
        and not any(
            s.start_ms < ANCHOR_MS + 4 * HOUR and s.end_ms > ANCHOR_MS - HOUR for s in t.offline
        )
        and not t.gaps
        and len(t.probes) == 2
    )


def test_with_every_quirk_off_the_body_is_the_docs_shape_byte_for_byte(
    caller: SignedCaller, server: SandboxServer
) -> None:
    response = caller.post_raw(caller.params("tracker.userInfo.get"))

    assert response.headers["content-type"] == "application/json"
    assert response.content == compact(success(server.fleet.user_info())).encode("utf-8")
    assert WireQuirks() == server.gateway.quirks


def test_data_as_string_sends_the_json_text(caller: SignedCaller, server: SandboxServer) -> None:
    server.gateway.quirks = WireQuirks(data_as_string=True)

    envelope = caller.call("tracker.userInfo.get")

    assert envelope == success(compact(server.fleet.user_info()))


def test_code_as_number_on_success_and_on_error(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.quirks = WireQuirks(code_as_number=True)

    ok = caller.call("tracker.configTemplate.page", {"pageNum": 1, "pageSize": 1})
    error = caller.call("tracker.nothing.here", {"pageNum": 1, "pageSize": 1})

    assert ok["code"] == 0 and isinstance(ok["code"], int)
    assert error == {
        "code": 40000,
        "msg": "Parameter error",
        "subCode": "invalid-method",
        "subMsg": "Nonexistent method name",
    }


def test_longs_as_strings_quote_every_epoch_field(
    caller: SignedCaller, server: SandboxServer
) -> None:
    fleet = server.fleet
    trip = recording_trip(fleet)
    server.gateway.quirks = WireQuirks(longs_as_strings=True)
    biz = {"userDeviceTripId": trip.trip_id, "probeType": 0, "beginTime": 0}

    devices = caller.data("tracker.userDevice.page", {"pageNum": 1, "pageSize": 2})
    trips = caller.data("tracker.deviceTrip.page", {"pageNum": 1, "pageSize": 3})
    readings = caller.data(READINGS, {**biz, "endTime": ANCHOR_MS, "pageNum": 1, "pageSize": 3})

    def quoted(row: dict[str, Any]) -> dict[str, Any]:
        return {k: str(v) if k in LONG_FIELDS else v for k, v in row.items()}

    assert devices["rows"] == [quoted(r) for r in fleet.device_rows()[:2]]
    assert trips["rows"] == [quoted(r) for r in fleet.trip_rows()[:3]]
    assert readings["rows"] == [
        quoted(r) for r in fleet.reading_rows(trip.trip_id, 0, 0, ANCHOR_MS, 0, 3)
    ]
    assert isinstance(readings["total"], int) and isinstance(devices["rows"][0]["battery"], int)
    assert isinstance(readings["rows"][0]["ts"], str)


@pytest.mark.parametrize("order", ["reversed", "scrambled"])
def test_row_order_serves_every_reading_once_but_not_in_time_order(
    caller: SignedCaller, server: SandboxServer, order: str
) -> None:
    fleet = server.fleet
    trip = recording_trip(fleet)
    window = {"userDeviceTripId": trip.trip_id, "probeType": 1, "beginTime": ANCHOR_MS - DAY}
    window["endTime"] = ANCHOR_MS
    in_time = fleet.reading_rows(trip.trip_id, 1, ANCHOR_MS - DAY, ANCHOR_MS)
    server.gateway.quirks = WireQuirks(row_order=order)  # type: ignore[arg-type]

    first = caller.data(READINGS, {**window, "pageNum": 1, "pageSize": 4})
    everything = caller.all_rows(READINGS, window, page_size=7)

    assert first["total"] == len(in_time) > 20
    if order == "reversed":
        assert first["rows"] == in_time[::-1][:4]
    else:
        assert first["rows"] == fleet.reading_rows(
            trip.trip_id, 1, ANCHOR_MS - DAY, ANCHOR_MS, 0, 4, order="scrambled"
        )
    assert everything != in_time
    assert sorted(everything, key=lambda row: row["ts"]) == in_time


def test_clock_tick_makes_new_data_arrive_between_pages(
    caller: SignedCaller, server: SandboxServer
) -> None:
    fleet = server.fleet
    trip = recording_trip(fleet)
    upload = trip.active_time_min * 60_000
    server.gateway.quirks = WireQuirks(clock_tick_ms=upload)
    window = {"userDeviceTripId": trip.trip_id, "probeType": 0, "beginTime": ANCHOR_MS - HOUR}
    window["endTime"] = ANCHOR_MS + DAY

    first = caller.data(READINGS, {**window, "pageNum": 1, "pageSize": 5})
    second = caller.data(READINGS, {**window, "pageNum": 2, "pageSize": 5})

    assert fleet.clock.now_ms() == ANCHOR_MS + 2 * upload
    per_upload = upload // trip.interval_ms
    assert second["total"] == first["total"] + per_upload
    assert second["total"] == fleet.reading_count(
        trip.trip_id, 0, ANCHOR_MS - HOUR, ANCHOR_MS + DAY
    )


def test_signed_responses_verify_with_the_platform_key_by_the_documented_recipe(
    caller: SignedCaller, server: SandboxServer
) -> None:
    server.gateway.quirks = WireQuirks(sign_responses=True)
    public = load_public_key(server.gateway.platform_public_key_pem())

    ok = caller.call("tracker.userInfo.get")
    error = caller.call("tracker.nothing.here")
    server.gateway.quirks = WireQuirks(
        sign_responses=True, data_as_string=True, code_as_number=True
    )
    shaped = caller.call("tracker.userInfo.get")

    expected = "code=0&data=" + canonical_json(server.fleet.user_info()) + "&msg=success"
    assert string_to_sign(ok) == expected
    assert list(ok) == ["code", "msg", "subCode", "subMsg", "data", "sign"]
    for envelope in (ok, error, shaped):
        unsigned = {k: v for k, v in envelope.items() if k != "sign"}
        assert len(envelope["sign"]) == 344
        assert verify(string_to_sign(unsigned), envelope["sign"], public)
    assert not verify(string_to_sign({**ok, "msg": "tampered"}), ok["sign"], public)


def test_the_project_client_verifies_signed_quirky_responses(server: SandboxServer) -> None:
    app_id, key = server.new_app()
    server.gateway.quirks = WireQuirks(
        sign_responses=True, data_as_string=True, code_as_number=True
    )
    platform = load_public_key(server.gateway.platform_public_key_pem())
    stranger = load_public_key(public_key_pem(generate_private_key()))

    try:
        with FreshlianceClient(
            app_id=app_id, private_key=key, base_url=server.url, platform_key=platform
        ) as client:
            info = client.user_info()
        with (
            FreshlianceClient(
                app_id=app_id, private_key=key, base_url=server.url, platform_key=stranger
            ) as client,
            pytest.raises(errors.ResponseSignatureError),
        ):
            client.user_info()
    finally:
        server.gateway.quirks = WireQuirks()

    assert info == server.fleet.user_info()


def test_quirks_reject_unknown_names_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown quirks"):
        WireQuirks().updated({"data_as_text": True})
    with pytest.raises(ValueError):
        WireQuirks(row_order="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        WireQuirks(clock_tick_ms=-1)
