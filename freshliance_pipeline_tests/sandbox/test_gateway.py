"""The gateway over real loopback HTTP: signed requests, documented envelopes, exact paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from freshliance_pipeline.api.signing import generate_private_key
from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer
from freshliance_pipeline.sandbox.world import DAY
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import MINUTE_MS, SignedCaller, now_ms

DEVICES = "tracker.userDevice.page"
TRIPS = "tracker.deviceTrip.page"
READINGS = "tracker.tripData.pageProbeData"
PAGE = {"pageNum": 1, "pageSize": 10}


def rejection(sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": "40000", "msg": "Parameter error", "subCode": sub_code, "subMsg": sub_msg}


def without(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != name}


def tampered_sign(c: SignedCaller) -> Any:
    params = c.params(DEVICES, PAGE)
    flipped = "A" if params["sign"][0] != "A" else "B"
    return {**params, "sign": flipped + params["sign"][1:]}


def tampered_biz(c: SignedCaller) -> Any:
    return {**c.params(DEVICES, PAGE), "bizContent": '{"pageNum":1,"pageSize":11}'}


def unregistered(c: SignedCaller) -> Any:
    return SignedCaller(c.client, c.url, "123456789012345678901234567", c.key).params(DEVICES, PAGE)


REJECTIONS: dict[str, tuple[Callable[[SignedCaller], Any], dict[str, str]]] = {
    "not json": (lambda c: b"{not json", rejection("invalid-format", "Invalid data format")),
    "json array": (lambda c: "[]", rejection("invalid-format", "Invalid data format")),
    "tampered signature": (tampered_sign, rejection("invalid-signature", "Invalid signature")),
    "changed after signing": (tampered_biz, rejection("invalid-signature", "Invalid signature")),
    "stale timestamp": (
        lambda c: c.params(DEVICES, PAGE, timestamp_ms=now_ms() - 11 * MINUTE_MS),
        rejection("invalid-timestamp", "Invalid timestamp parameter"),
    ),
    "future timestamp": (
        lambda c: c.params(DEVICES, PAGE, timestamp_ms=now_ms() + 11 * MINUTE_MS),
        rejection("invalid-timestamp", "Invalid timestamp parameter"),
    ),
    "date timestamp": (
        lambda c: c.params(DEVICES, PAGE, timestamp="2025-06-15 08:00:00"),
        rejection("invalid-timestamp", "Invalid timestamp parameter"),
    ),
    "unregistered appId": (unregistered, rejection("invalid-appId", "Invalid appId parameter")),
    "missing sign": (
        lambda c: without(c.params(DEVICES, PAGE), "sign"),
        rejection("missing-signature", "Missing signature parameter"),
    ),
    "empty sign": (
        lambda c: {**c.params(DEVICES, PAGE), "sign": ""},
        rejection("missing-signature", "Missing signature parameter"),
    ),
    "missing method": (
        lambda c: without(c.params(DEVICES, PAGE), "method"),
        rejection("missing-method", "Missing method name parameter"),
    ),
    "missing appId": (
        lambda c: without(c.params(DEVICES, PAGE), "appId"),
        rejection("missing-appId", "Missing appId parameter"),
    ),
    "missing timestamp": (
        lambda c: without(c.params(DEVICES, PAGE), "timestamp"),
        rejection("missing-timestamp", "Missing timestamp parameter"),
    ),
    "missing version": (
        lambda c: without(c.params(DEVICES, PAGE), "version"),
        rejection("missing-version", "Missing version parameter"),
    ),
    "missing signType": (
        lambda c: without(c.params(DEVICES, PAGE), "signType"),
        rejection("missing-signature-type", "Missing signature type parameter"),
    ),
    "signType RSA": (
        lambda c: c.params(DEVICES, PAGE, signType="RSA"),
        rejection("invalid-signature-type", "Invalid signature type"),
    ),
    "format XML": (
        lambda c: c.params(DEVICES, PAGE, format="XML"),
        rejection("invalid-format", "Invalid data format"),
    ),
    "charset GBK": (
        lambda c: c.params(DEVICES, PAGE, charset="GBK"),
        rejection("invalid-charset", "Invalid character set"),
    ),
    "unknown method": (
        lambda c: c.params("tracker.userDevice.delete", PAGE),
        rejection("invalid-method", "Nonexistent method name"),
    ),
}


@pytest.mark.parametrize("case", REJECTIONS, ids=list(REJECTIONS))
def test_each_rejection_answers_its_documented_envelope(caller: SignedCaller, case: str) -> None:
    build, expected = REJECTIONS[case]

    envelope = caller.post(build(caller))

    assert envelope == expected


@pytest.mark.parametrize(
    ("method", "biz", "named"),
    [
        (DEVICES, {"pageNum": 1, "pageSize": 51}, "pageSize"),
        (DEVICES, {"pageNum": 1, "pageSize": 0}, "pageSize"),
        (DEVICES, {"pageNum": 0, "pageSize": 10}, "pageNum"),
        (DEVICES, {"pageNum": "1", "pageSize": 10}, "pageNum"),
        (DEVICES, {"pageSize": 10}, "pageNum"),
        (TRIPS, {**PAGE, "beginTime": "yesterday"}, "beginTime"),
        (READINGS, {**PAGE, "beginTime": 0, "endTime": 1, "probeType": 0}, "userDeviceTripId"),
        (READINGS, {**PAGE, "userDeviceTripId": 1, "endTime": 1, "probeType": 0}, "beginTime"),
        (READINGS, {**PAGE, "userDeviceTripId": 1, "beginTime": 0, "endTime": 1}, "probeType"),
        ("tracker.groupDevice.pageAllocatedDevice", PAGE, "userGroupId"),
    ],
)
def test_bad_business_parameters_are_invalid_parameter_naming_the_field(
    caller: SignedCaller, method: str, biz: dict[str, Any], named: str
) -> None:
    envelope = caller.call(method, biz)

    assert envelope["code"] == "40000" and envelope["subCode"] == "invalid-parameter"
    assert envelope["subMsg"].startswith("Invalid parameter: ") and named in envelope["subMsg"]


def test_wrong_version_is_invalid_parameter(caller: SignedCaller) -> None:
    envelope = caller.post(caller.params(DEVICES, PAGE, version="2.0"))

    assert envelope["subCode"] == "invalid-parameter" and "version" in envelope["subMsg"]


def test_a_timestamp_within_the_skew_is_accepted(caller: SignedCaller) -> None:
    envelope = caller.post(caller.params(DEVICES, PAGE, timestamp_ms=now_ms() - 9 * MINUTE_MS))

    assert envelope["code"] == "0"


def test_success_envelope_and_user_info(
    caller: SignedCaller, sandbox_server: SandboxServer
) -> None:
    envelope = caller.call("tracker.userInfo.get")

    assert envelope == {
        "code": "0",
        "msg": "success",
        "subCode": "",
        "subMsg": "",
        "data": sandbox_server.fleet.user_info(),
    }


def test_biz_content_as_object_and_app_id_as_bare_number_are_accepted(
    caller: SignedCaller,
) -> None:
    biz = {"pageNum": 1, "pageSize": 5}
    params = caller.params(DEVICES, biz)
    as_string = caller.post(params)

    as_object = caller.post({**params, "bizContent": biz})
    # json.dumps writes a Python int as its exact digits: 27 of them, beyond any int64.
    as_number = caller.post(json.dumps({**params, "appId": int(caller.app_id)}))

    assert len(caller.app_id) == 27
    assert as_string["code"] == "0"
    assert as_object == as_string
    assert as_number == as_string


def test_sixty_devices_paged_by_fifty_come_back_once_each() -> None:
    fleet = Fleet(FleetConfig(devices=60, anchor_ms=ANCHOR_MS))
    with SandboxServer(fleet) as server, httpx.Client() as client:
        app_id, key = server.new_app()
        caller = SignedCaller(client, server.url, app_id, key)

        first = caller.data(DEVICES, {"pageNum": 1, "pageSize": 50})
        rows = caller.all_rows(DEVICES, {}, page_size=50)

    assert first["total"] == 60 and len(first["rows"]) == 50
    assert len(rows) == 60
    assert sorted(row["userDeviceId"] for row in rows) == sorted(
        d.user_device_id for d in fleet.devices
    )
    assert rows == fleet.device_rows()


@pytest.mark.parametrize("page_size", [7, 13, 50])
def test_reading_pages_equal_the_fleet_and_the_ground_truth(
    caller: SignedCaller, sandbox_server: SandboxServer, page_size: int
) -> None:
    fleet = sandbox_server.fleet
    trip = next(t for t in fleet.trips if t.status(ANCHOR_MS) == "ing" and len(t.probes) == 2)
    begin, end = ANCHOR_MS - DAY, ANCHOR_MS
    truth = fleet.ground_truth(begin, end)

    for probe_type in (0, 1):
        biz = {"userDeviceTripId": trip.trip_id, "probeType": probe_type}
        rows = caller.all_rows(READINGS, {**biz, "beginTime": begin, "endTime": end}, page_size)

        expected = [
            r
            for r in truth
            if r["userDeviceTripId"] == trip.trip_id and r["probeType"] == probe_type
        ]
        assert rows == fleet.reading_rows(trip.trip_id, probe_type, begin, end)
        assert [row["ts"] for row in rows] == [r["ts"] for r in expected]
        assert [row["temperature"] for row in rows] == [r["temperature"] for r in expected]
        assert len(rows) > page_size


def test_readings_of_a_probe_the_device_lacks_are_an_empty_page(
    caller: SignedCaller, sandbox_server: SandboxServer
) -> None:
    trip = next(t for t in sandbox_server.fleet.trips if len(t.probes) == 1)
    biz = {**PAGE, "userDeviceTripId": trip.trip_id, "probeType": 1, "beginTime": 0}

    data = caller.data(READINGS, {**biz, "endTime": ANCHOR_MS})

    assert data == {"total": 0, "rows": []}


def test_an_unknown_trip_is_a_business_error(caller: SignedCaller) -> None:
    biz = {**PAGE, "userDeviceTripId": 1, "probeType": 0, "beginTime": 0, "endTime": 1}

    envelope = caller.call(READINGS, biz)

    assert envelope["code"] == "50000" and envelope["msg"] == "Business error"
    assert envelope["subCode"] == "biz-error" and "userDeviceTripId 1" in envelope["subMsg"]


def test_trip_page_filters_by_time_like_the_fleet(
    caller: SignedCaller, sandbox_server: SandboxServer
) -> None:
    begin, end = ANCHOR_MS - 2 * DAY, ANCHOR_MS - DAY

    rows = caller.all_rows(TRIPS, {"beginTime": begin, "endTime": end}, page_size=4)
    device_code = rows[0]["deviceCode"]
    of_device = caller.all_rows(TRIPS, {"deviceCode": device_code}, page_size=50)

    assert rows == sandbox_server.fleet.trip_rows(begin_ms=begin, end_ms=end)
    assert all(row["tripStatus"] != "wait" for row in rows)
    assert of_device == sandbox_server.fleet.trip_rows(device_code=device_code)
    assert {row["deviceCode"] for row in of_device} == {device_code}


def test_groups_grouped_devices_and_templates_are_served(
    caller: SignedCaller, sandbox_server: SandboxServer
) -> None:
    fleet = sandbox_server.fleet

    groups = caller.all_rows("tracker.deviceGroup.page", {}, page_size=2)
    grouped = [
        row
        for group in groups
        for row in caller.all_rows(
            "tracker.groupDevice.pageAllocatedDevice", {"userGroupId": group["userGroupId"]}, 3
        )
    ]
    templates = caller.all_rows("tracker.configTemplate.page", {}, page_size=50)

    assert groups == fleet.group_rows()
    assert len(grouped) == len(fleet.devices)
    assert templates == fleet.template_rows()


def test_requests_are_counted_per_method_and_per_app(
    caller: SignedCaller, sandbox_server: SandboxServer
) -> None:
    counts = sandbox_server.counts
    before_method = counts["tracker.configTemplate.page"]
    before_app = counts.for_app(caller.app_id).get("tracker.configTemplate.page", 0)
    other_id, other_key = sandbox_server.new_app()
    other = SignedCaller(caller.client, caller.url, other_id, other_key)

    caller.data("tracker.configTemplate.page", PAGE)
    caller.data("tracker.configTemplate.page", PAGE)
    other.data("tracker.configTemplate.page", PAGE)

    assert counts["tracker.configTemplate.page"] == before_method + 3
    assert counts.for_app(caller.app_id)["tracker.configTemplate.page"] == before_app + 2
    assert counts.for_app(other_id) == {"tracker.configTemplate.page": 1}
    assert counts["never.called"] == 0 and "never.called" not in counts
    assert counts.by_code()["0"] >= 3


def test_a_key_registered_for_another_app_does_not_sign_for_this_one(
    caller: SignedCaller,
) -> None:
    impostor = SignedCaller(caller.client, caller.url, caller.app_id, generate_private_key())

    envelope = impostor.call(DEVICES, PAGE)

    assert envelope == rejection("invalid-signature", "Invalid signature")
