"""A deterministic Freshliance tracker account: the world behind the sandbox gateway.

``Fleet(FleetConfig(seed=7))`` is the same account on every machine: one user, three device
groups, a few configuration templates, devices with trips and the readings of those trips. It is
a pure function of the config and the clock; nothing is random and the readings are never stored,
so :meth:`Fleet.ground_truth` can say exactly which readings exist for any window.

Row shapes follow the docs (freshliance-api.md section 6): camelCase names, times as epoch
milliseconds, optional fields left out when there is no value. Where the docs are silent, these are
our assumptions:

* ``tracker.userInfo.get`` returns the fields of the gateway copy's table (nickname spelled as in
  the table, not ``nickName`` as in its example), with ``intVoiceNum`` from that example.
* Device group rows are ``userGroupId``, ``groupName``, ``parentId`` (the tracker page is
  missing; 0 marks a top-level group, as on the gateway group pages).
* Template rows wrap the documented fields as ``{"tripConfig": {...}}`` (docs section 9, item 25).
* Trip time filter: a trip matches when its span ``[actualBeginTime, actualEndTime or now]``
  overlaps ``[beginTime, endTime]``, both ends inclusive; either bound may be given alone.
  ``wait`` trips have no span and are left out whenever a time filter is given.
* Reading windows are inclusive at both ends (``beginTime <= ts <= endTime``), and only readings
  within the trip's actual span and not after the clock exist.
* Code filters (deviceCode, tripCode, deviceStatus) match exactly; ``templateName`` matches as a
  case-insensitive substring, the usual behaviour of a name search box.
* Ordering, which paging needs stable: devices by ``userDeviceId``, trips newest first by
  ``userDeviceTripId``, groups, grouped devices and templates by id, readings by ``ts``.
* A device is ``online`` while its newest trip records; ``alarmFlag`` is 1 once a planted
  excursion of that trip has begun; device coordinates are the newest GPS fix, or the home depot
  for devices without GPS; ``batteryTime`` is the last reading's time.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from freshliance_pipeline.sandbox import readings as _readings
from freshliance_pipeline.sandbox._noise import Draws
from freshliance_pipeline.sandbox.catalog import NICKNAMES
from freshliance_pipeline.sandbox.clock import Clock
from freshliance_pipeline.sandbox.templates import template_rows as _template_rows
from freshliance_pipeline.sandbox.world import Device, Group, Trip, build_world

_GROUND_TRUTH_SENSORS = ("temperature", "humidity", "light", "shock", "latitude", "longitude")


class UnknownTripError(LookupError):
    """No trip with that ``userDeviceTripId`` exists in the account."""


def _today_utc_ms() -> int:
    now = datetime.now(tz=UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp()) * 1000


@dataclass(frozen=True)
class FleetConfig:
    """What decides the world.

    ``days`` is the history before the anchor; ``anchor_ms`` None means today's 00:00 UTC, fixed
    when the config is constructed. Every trip status occurs from three devices up, every device
    model from five.
    """

    seed: int = 7
    devices: int = 12
    days: int = 30
    anchor_ms: int | None = None

    def __post_init__(self) -> None:
        if self.devices < 1 or self.days < 1:
            raise ValueError(f"need at least one device and one day, got {self}")
        if self.anchor_ms is None:
            object.__setattr__(self, "anchor_ms", _today_utc_ms())

    @property
    def anchor(self) -> int:
        """The anchor as an int (always set once constructed)."""
        assert self.anchor_ms is not None
        return self.anchor_ms


class Fleet:
    """The account's devices, trips and readings, as the tracker API would return them."""

    def __init__(self, config: FleetConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config if config is not None else FleetConfig()
        self.clock = clock if clock is not None else Clock(self.config.anchor)
        world = build_world(self.config.seed, self.config.devices, self.config.days, self.anchor_ms)
        self.groups: tuple[Group, ...] = world.groups
        self.devices: tuple[Device, ...] = world.devices
        self._trips = world.trips
        self._trip_by_id = {trip.trip_id: trip for trip in world.trips}
        self._trips_by_device: dict[str, list[Trip]] = {d.device_code: [] for d in self.devices}
        for trip in world.trips:
            self._trips_by_device[trip.device_code].append(trip)
        self._templates = _template_rows(self.config.seed, self.anchor_ms)

    @property
    def anchor_ms(self) -> int:
        return self.config.anchor

    @property
    def trips(self) -> list[Trip]:
        """Every trip, oldest first, with its planted excursions (for tests)."""
        return list(self._trips)

    def trip(self, trip_id: int) -> Trip:
        try:
            return self._trip_by_id[trip_id]
        except KeyError:
            raise UnknownTripError(f"no trip with userDeviceTripId {trip_id}") from None

    def latest_trip(self, device: Device) -> Trip:
        return self._trips_by_device[device.device_code][-1]

    def user_info(self) -> dict[str, Any]:
        draws = Draws(self.config.seed, "account")
        nickname = draws.choice(NICKNAMES)
        return {
            "email": f"{nickname}@coldchain.example.com",
            "timeZone": "+08:00",
            "language": 1,
            "dateFormat": 1,
            "temperatureUnit": 1,
            "chnSmsNum": draws.integer(0, 300),
            "intSmsNum": draws.integer(0, 300),
            "chnVoiceNum": draws.integer(0, 120),
            "intVoiceNum": draws.integer(0, 120),
            "nickname": nickname,
        }

    def device_rows(self, device_code: str | None = None) -> list[dict[str, Any]]:
        devices = self.devices if device_code is None else self._devices_with(device_code)
        return [self._device_row(device) for device in devices]

    def trip_rows(
        self,
        trip_code: str | None = None,
        device_code: str | None = None,
        begin_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        now = self.clock.now_ms()
        timed = begin_ms is not None or end_ms is not None
        rows = []
        for trip in reversed(self._trips):
            if trip_code is not None and trip.trip_code != trip_code:
                continue
            if device_code is not None and trip.device_code != device_code:
                continue
            if timed and not _overlaps(trip, now, begin_ms, end_ms):
                continue
            rows.append(self._trip_row(trip, now))
        return rows

    def group_rows(self) -> list[dict[str, Any]]:
        return [
            {"userGroupId": g.user_group_id, "groupName": g.group_name, "parentId": g.parent_id}
            for g in self.groups
        ]

    def group_device_rows(
        self,
        user_group_id: int,
        device_code: str | None = None,
        trip_code: str | None = None,
        device_status: str | None = None,
    ) -> list[dict[str, Any]]:
        now = self.clock.now_ms()
        rows = []
        for device in self.devices:
            if device.group.user_group_id != user_group_id:
                continue
            if device_code is not None and device.device_code != device_code:
                continue
            row = self._group_device_row(device, now)
            if trip_code is not None and row.get("tripCode") != trip_code:
                continue
            if device_status is not None and row["deviceStatus"] != device_status:
                continue
            rows.append(row)
        return rows

    def template_rows(self, template_name: str | None = None) -> list[dict[str, Any]]:
        wanted = None if template_name is None else template_name.casefold()
        return [
            # Deep copies: a caller editing a phoneList must not change the world.
            copy.deepcopy(row)
            for row in self._templates
            if wanted is None or wanted in row["tripConfig"]["templateName"].casefold()
        ]

    def reading_count(self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int) -> int:
        return len(self._indices(trip_id, probe_type, begin_ms, end_ms))

    def reading_rows(
        self,
        trip_id: int,
        probe_type: int,
        begin_ms: int,
        end_ms: int,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError(f"offset and limit must not be negative, got {offset} and {limit}")
        trip = self.trip(trip_id)
        indices = self._indices(trip_id, probe_type, begin_ms, end_ms)
        stop = len(indices) if limit is None else offset + limit
        return [
            _readings.api_row(_readings.reading(trip, probe_type, i)) for i in indices[offset:stop]
        ]

    def ground_truth(self, begin_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every reading that exists in the window, all trips and probes, None for no sensor.

        Ordered by (userDeviceTripId, probeType, ts); this is what a complete sync must hold.
        """
        rows = []
        for trip in self._trips:
            for probe_type in trip.probes:
                for i in self._indices(trip.trip_id, probe_type, begin_ms, end_ms):
                    value = _readings.reading(trip, probe_type, i)
                    row: dict[str, Any] = {
                        "userDeviceTripId": trip.trip_id,
                        "deviceCode": trip.device_code,
                        "probeType": probe_type,
                        "ts": value.ts,
                    }
                    row.update((name, getattr(value, name)) for name in _GROUND_TRUTH_SENSORS)
                    rows.append(row)
        return rows

    def _indices(self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int) -> range:
        trip = self.trip(trip_id)
        if probe_type not in trip.probes:
            return range(0)
        return trip.index_range(begin_ms, end_ms, self.clock.now_ms())

    def _devices_with(self, device_code: str) -> list[Device]:
        return [d for d in self.devices if d.device_code == device_code]

    def _last_reading(self, device: Device, now: int) -> _readings.Reading | None:
        for trip in reversed(self._trips_by_device[device.device_code]):
            visible = trip.index_range(trip.actual_begin_ms, now, now)
            if visible:
                return _readings.reading(trip, 0, visible[-1])
        return None

    def _device_row(self, device: Device) -> dict[str, Any]:
        now = self.clock.now_ms()
        last = self._last_reading(device, now)
        row: dict[str, Any] = {
            "userDeviceTripId": self.latest_trip(device).trip_id,
            "deviceCode": device.device_code,
            "userDeviceId": device.user_device_id,
            "useType": device.use_type,
            "bindTime": device.bind_time_ms,
            "battery": device.battery,
            "batteryTime": last.ts if last is not None else device.bind_time_ms,
        }
        if device.custom_name is not None:
            row["customName"] = device.custom_name
        if last is not None and last.latitude is not None and last.longitude is not None:
            row["longitude"], row["latitude"] = last.longitude, last.latitude
        else:
            row["longitude"] = round(device.home.longitude + 0.0021 * (device.index % 7), 6)
            row["latitude"] = round(device.home.latitude + 0.0013 * (device.index % 5), 6)
        return row

    def _trip_row(self, trip: Trip, now: int) -> dict[str, Any]:
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

    def _group_device_row(self, device: Device, now: int) -> dict[str, Any]:
        trip = self.latest_trip(device)
        status = trip.status(now)
        alarm = status != "wait" and any(run.start_ms <= now for run in trip.excursions)
        row: dict[str, Any] = {
            "userGroupDeviceId": device.user_group_device_id,
            "userDeviceId": device.user_device_id,
            "deviceCode": device.device_code,
            "deviceType": device.model.device_type,
            "tripStatus": status,
            "alarmFlag": 1 if alarm else 0,
            "deviceStatus": "online" if status == "ing" else "offline",
            "customName": device.custom_name,
            "tripCode": trip.trip_code,
            "goodsName": trip.goods_name,
            "expectedBeginTime": trip.expected_begin_ms,
            "expectedEndTime": trip.expected_end_ms,
        }
        return {name: value for name, value in row.items() if value is not None}


def _overlaps(trip: Trip, now: int, begin_ms: int | None, end_ms: int | None) -> bool:
    if trip.status(now) == "wait":
        return False
    stop = trip.actual_end_ms if trip.actual_end_ms <= now else now
    after_begin = begin_ms is None or stop >= begin_ms
    before_end = end_ms is None or trip.actual_begin_ms <= end_ms
    return after_begin and before_end


__all__ = ["Fleet", "FleetConfig", "UnknownTripError"]
