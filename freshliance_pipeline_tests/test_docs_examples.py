"""The docs' own example bodies, through the envelope parser, the normalizers and the lake
schemas: every value and type that lands is checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from freshliance_pipeline import normalize
from freshliance_pipeline.api import signing
from freshliance_pipeline.api.client import parse_envelope
from freshliance_pipeline.api.pages import parse_page
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import to_table

DOCS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "docs-examples"
FETCHED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def land(frame: Any, dataset: schemas.Dataset) -> dict[str, Any]:
    table = to_table(frame, dataset)
    assert table.schema.equals(dataset.schema, check_metadata=False)
    assert table.num_rows == 1
    row: dict[str, Any] = table.to_pylist()[0]
    return row


@pytest.fixture(scope="module")
def docs() -> Path:
    if not DOCS.is_dir():
        pytest.fail(f"docs examples not found at {DOCS}")
    return DOCS


def test_user_info_response_lands_with_every_value(docs: Path) -> None:
    body = (docs / "tracker_userInfo_get__response.json").read_bytes()

    data = parse_envelope("tracker.userInfo.get", 200, body)
    row = land(normalize.account(data, FETCHED), schemas.ACCOUNT)

    assert row == {
        "email": "123123@freshliance.com",
        "timeZone": "+08:00",
        "language": 1,
        "dateFormat": 1,
        "temperatureUnit": 1,
        "chnSmsNum": 217,
        "intSmsNum": 280,
        "chnVoiceNum": 107,
        "intVoiceNum": 100,
        # The example says nickName where the table says nickname.
        "nickname": "feedback",
        "_extras": None,
        "_fetched_at": FETCHED,
    }


# freshliance-api.md 6.2.1: the example row as far as printed, completed with the table's
# example values for the fields the cut-off example does not reach.
USER_DEVICE_PAGE = """{"code": "0", "data": {"total": 1, "rows": [{
  "bindTime": 1747703606652, "customName": "Fresh Tracker10", "userDeviceId": 723,
  "userDeviceTripId": 2465, "useType": 1, "deviceCode": "250700097T",
  "latitude": 34.481162, "longitude": 113.812267, "battery": 100,
  "batteryTime": 1747703606652}]}, "msg": "success"}"""


def test_user_device_page_row_lands_typed() -> None:
    total, rows = parse_page(
        parse_envelope("tracker.userDevice.page", 200, USER_DEVICE_PAGE.encode())
    )

    row = land(normalize.devices(rows, FETCHED), schemas.DEVICES)

    assert total == 1
    assert row == {
        "userDeviceId": 723,
        "userDeviceTripId": 2465,
        "deviceCode": "250700097T",
        "useType": 1,
        "bindTime": ms(1747703606652),
        "battery": 100,
        "batteryTime": ms(1747703606652),
        "customName": "Fresh Tracker10",
        "longitude": 113.812267,
        "latitude": 34.481162,
        "_extras": None,
        "_fetched_at": FETCHED,
    }


# freshliance-api.md 6.3.1: the Return Data table's example column, as one row; times as
# numeric strings, which the gateway's examples also use for longs (section 9.36).
TRIP_ROW = {
    "userDeviceId": 686,
    "userDeviceTripId": 2465,
    "deviceCode": "250700097T",
    "tripStatus": "end",
    "customName": "Fresh Tracker10",
    "tripCode": "tripCode",
    "assetCode": "fruit",
    "goodsName": "orange",
    "vehicleInfo": "X100",
    "carrier": "A",
    "consignee": "B",
    "beginRoute": "Shanghai",
    "endRoute": "New York",
    "expectedBeginTime": "1747640566191",
    "expectedEndTime": 1747640588653,
    "actualBeginTime": 1747640566191,
    "actualEndTime": "1747640588653",
}


def test_trip_row_lands_typed() -> None:
    # data given as JSON text, as the Parameter table types it.
    body = json.dumps({"code": 0, "data": json.dumps({"total": 4, "rows": [TRIP_ROW]})})

    total, rows = parse_page(parse_envelope("tracker.deviceTrip.page", 200, body.encode()))
    row = land(normalize.trips(rows, FETCHED), schemas.TRIPS)

    assert total == 4
    assert row == {
        **{k: v for k, v in TRIP_ROW.items() if not k.endswith("Time")},
        "expectedBeginTime": ms(1747640566191),
        "expectedEndTime": ms(1747640588653),
        "actualBeginTime": ms(1747640566191),
        "actualEndTime": ms(1747640588653),
        "_extras": None,
        "_fetched_at": FETCHED,
    }


def test_reading_row_lands_typed_and_absent_sensors_are_null() -> None:
    # freshliance-api.md 6.4.1 Return Data examples; light and shock have none.
    page = {
        "total": 3,
        "rows": [
            {
                "ts": 1740470176000,
                "temperature": 22.1,
                "humidity": 35.6,
                "longitude": 113.813125,
                "latitude": 34.47773,
            },
        ],
    }
    body = json.dumps({"code": "0", "data": page, "msg": "success"}).encode()

    _, rows = parse_page(parse_envelope("tracker.tripData.pageProbeData", 200, body))
    frame = normalize.readings(
        rows, trip_id=2472, device_code="250700097T", probe_type=1, fetched_at=FETCHED
    )
    row = land(frame, schemas.READINGS)

    assert row == {
        "userDeviceTripId": 2472,
        "deviceCode": "250700097T",
        "probeType": 1,
        "ts": ms(1740470176000),
        "temperature": 22.1,
        "humidity": 35.6,
        "longitude": 113.813125,
        "latitude": 34.47773,
        "light": None,
        "shock": None,
        "_extras": None,
        "_fetched_at": FETCHED,
    }


def test_a_whole_number_temperature_page_still_lands_as_float64() -> None:
    rows: list[dict[str, Any]] = [
        {"ts": "1740470176000", "temperature": 22},
        {"ts": 1740470236000, "temperature": -18},
    ]

    table = to_table(
        normalize.readings(rows, trip_id=1, device_code="x", probe_type=0, fetched_at=FETCHED),
        schemas.READINGS,
    )

    assert table.schema.field("temperature").type == pa.float64()
    assert table.column("temperature").to_pylist() == [22.0, -18.0]


def test_config_template_row_is_flattened_with_phone_list_kept() -> None:
    template = {
        "tripConfig": {
            "templateName": "template",
            "tripConfigTemplateId": 45233,
            "startDelay": 5,
            "collectInterval": 5,
            "activeTime": 5,
            "buttonFlag": 1,
            "gpsFlag": 1,
            "wifiFlag": 1,
            "flightFlag": 1,
            "flightStartTime": 1747640566191,
            "flightEndTime": 1747640566191,
            "lightFlag": 0,
            "shockFlag": 0,
            "email": "1@freshliance.com",
            "phoneList": [{"areaCode": "+86", "phone": "123456789"}],
        }
    }

    row = land(normalize.config_templates([template], FETCHED), schemas.CONFIG_TEMPLATES)

    assert row["tripConfigTemplateId"] == 45233
    assert row["templateName"] == "template"
    assert (row["startDelay"], row["collectInterval"], row["activeTime"]) == (5, 5, 5)
    assert row["flightStartTime"] == ms(1747640566191)
    assert json.loads(row["phoneList"]) == [{"areaCode": "+86", "phone": "123456789"}]


def test_request_examples_rebuild_the_string_the_gateway_verifies(docs: Path) -> None:
    # appId arrives as an unquoted 27-digit number here: it must keep every digit.
    request = json.loads((docs / "tracker_tripData_pageProbeData__request.json").read_text())

    text = signing.string_to_sign(request)

    assert text == (
        'appId=658409073956360262328652394&bizContent={"beginTime":1740470112000,'
        '"endTime":1741068684000,"pageNum":1,"pageSize":10,"probeType":1,'
        '"userDeviceTripId":2472}&charset=UTF-8&format=JSON'
        "&method=tracker.tripData.pageProbeData&signType=RSA2&timestamp=1747820615420"
        "&version=1.0"
    )


def test_error_envelope_from_the_error_table_maps_to_a_typed_error() -> None:
    from freshliance_pipeline.api import errors

    body = json.dumps(
        {
            "code": "40000",
            "msg": "Parameter error",
            "subCode": "invalid-signature",
            "subMsg": "Invalid signature",
        }
    ).encode()

    with pytest.raises(errors.InvalidRequestError) as caught:
        parse_envelope("tracker.userDevice.page", 200, body)

    assert (caught.value.code, caught.value.sub_code) == ("40000", "invalid-signature")
    assert caught.value.sub_msg == "Invalid signature"
    assert "does not match the public key" in str(caught.value)


def test_a_field_the_schema_does_not_name_is_kept_in_extras() -> None:
    row = {"ts": 1740470176000, "temperature": 22.1, "co2": 415.0, "probeStatus": {"ok": 1}}

    landed = land(
        normalize.readings([row], trip_id=1, device_code="x", probe_type=0, fetched_at=FETCHED),
        schemas.READINGS,
    )

    assert landed["temperature"] == 22.1
    assert json.loads(landed["_extras"]) == {"co2": 415.0, "probeStatus": {"ok": 1}}


def test_a_file_of_the_previous_schema_version_reads_with_nulls_for_new_columns(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    from freshliance_pipeline.lake.writer import partition_dir, read_partition

    current = to_table(
        normalize.readings(
            [{"ts": 1740470176000, "temperature": 5.0}],
            trip_id=1,
            device_code="x",
            probe_type=0,
            fetched_at=FETCHED,
        ),
        schemas.READINGS,
    )
    folder = partition_dir(tmp_path, schemas.READINGS, "2025-02-25")
    folder.mkdir(parents=True)
    pq.write_table(current.drop_columns(["_extras"]), folder / "part-0.parquet")

    table = read_partition(tmp_path, schemas.READINGS, "2025-02-25")

    assert table is not None and table.schema.equals(schemas.READINGS.schema)
    assert table.column("_extras").to_pylist() == [None]
    assert table.column("temperature").to_pylist() == [5.0]
