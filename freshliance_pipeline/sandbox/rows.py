"""API rows of devices, trips and grouped devices at a given instant.

Row shapes follow the docs (freshliance-api.md section 6): camelCase names, times as epoch
milliseconds, optional fields left out when there is no value. Where the docs are silent, these
are our assumptions:

* A device row's ``userDeviceTripId`` is the newest trip listed at that instant (section 9 item
  26 only suggests this); a device with no trip yet (the clock set before its first) leaves the
  field out. ``battery`` and ``batteryTime`` come from the last uploaded reading (the battery
  drains during a trip and is recharged between trips of a multi-use device); coordinates are the
  last uploaded GPS fix, or the home depot for devices without GPS.
* Grouped-device rows: ``deviceStatus`` is ``online`` while the newest trip records and the device
  is not in an offline spell; ``alarmFlag`` is 1 once an uploaded reading of that trip lies inside
  a planted excursion.
"""

from __future__ import annotations

from typing import Any

from freshliance_pipeline.sandbox import readings as _readings
from freshliance_pipeline.sandbox.world import Device, Trip


def last_uploaded(
    trips_newest_first: list[Trip], now: int
) -> tuple[Trip, _readings.Reading] | None:
    """The newest uploaded built-in reading among the given trips, with its trip."""
    for trip in trips_newest_first:
        visible = trip.indices(0, trip.actual_begin_ms, now, trip.visible_through(now))
        last = visible.last
        if last is not None:
            return trip, _readings.reading(trip, 0, last)
    return None


def device_row(device: Device, latest: Trip | None, recent: list[Trip], now: int) -> dict[str, Any]:
    found = last_uploaded(recent, now)
    last = found[1] if found is not None else None
    row: dict[str, Any] = {}
    if latest is not None:
        row["userDeviceTripId"] = latest.trip_id
    row.update(
        {
            "deviceCode": device.device_code,
            "userDeviceId": device.user_device_id,
            "useType": device.use_type,
            "bindTime": device.bind_time_ms,
        }
    )
    if found is not None:
        row["battery"], row["batteryTime"] = found[0].battery_at(found[1].ts), found[1].ts
    else:
        row["battery"], row["batteryTime"] = 100, device.bind_time_ms
    if device.custom_name is not None:
        row["customName"] = device.custom_name
    if last is not None and last.latitude is not None and last.longitude is not None:
        row["longitude"], row["latitude"] = last.longitude, last.latitude
    else:
        row["longitude"] = round(device.home.longitude + 0.0021 * (device.index % 7), 6)
        row["latitude"] = round(device.home.latitude + 0.0013 * (device.index % 5), 6)
    return row


def trip_row(trip: Trip, now: int) -> dict[str, Any]:
    status = trip.status(now)
    row: dict[str, Any] = {
        "userDeviceId": trip.device.user_device_id,
        "userDeviceTripId": trip.trip_id,
        "deviceCode": trip.device_code,
        "tripStatus": status,
        "customName": trip.device.custom_name,
        "tripCode": trip.trip_code,
        "assetCode": trip.asset_code,
        "goodsName": trip.goods_name,
        "vehicleInfo": trip.vehicle_info,
        "carrier": trip.carrier,
        "consignee": trip.consignee,
        "beginRoute": trip.origin.name,
        "endRoute": trip.destination.name,
        "expectedBeginTime": trip.expected_begin_ms,
        "expectedEndTime": trip.expected_end_ms,
        "actualBeginTime": None if status == "wait" else trip.actual_begin_ms,
        "actualEndTime": trip.actual_end_ms if status == "end" else None,
    }
    return {name: value for name, value in row.items() if value is not None}


def device_status(trip: Trip | None, now: int) -> str:
    if trip is None or trip.status(now) != "ing" or trip.offline_at(now):
        return "offline"
    return "online"


def group_device_row(device: Device, trip: Trip | None, now: int) -> dict[str, Any]:
    status = trip.status(now) if trip is not None else "wait"
    alarm = False
    if trip is not None and status != "wait":
        seen = trip.visible_through(now)
        alarm = any(run.start_ms <= seen for run in trip.excursions)
    row: dict[str, Any] = {
        "userGroupDeviceId": device.user_group_device_id,
        "userDeviceId": device.user_device_id,
        "deviceCode": device.device_code,
        "deviceType": device.model.device_type,
        "tripStatus": status,
        "alarmFlag": 1 if alarm else 0,
        "deviceStatus": device_status(trip, now),
        "customName": device.custom_name,
        "tripCode": trip.trip_code if trip is not None else None,
        "goodsName": trip.goods_name if trip is not None else None,
        "expectedBeginTime": trip.expected_begin_ms if trip is not None else None,
        "expectedEndTime": trip.expected_end_ms if trip is not None else None,
    }
    return {name: value for name, value in row.items() if value is not None}
