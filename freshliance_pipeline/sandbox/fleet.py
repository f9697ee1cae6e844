"""A deterministic Freshliance tracker account: the world behind the sandbox gateway.

``Fleet(FleetConfig(seed=7))`` is the same account on every machine: one user, three device
groups, a few configuration templates, devices with trips and the readings of those trips. It is
a pure function of the config and the clock; nothing is random, and neither trips nor readings
are stored (:mod:`.schedule`, :mod:`.world`), so a fleet of 2,000 devices over a year starts in a
fraction of a second, and :meth:`Fleet.ground_truth` can say exactly which readings exist and
which are visible for any window.

Where the docs are silent, these are our assumptions (row shapes: :mod:`.rows`):

* ``tracker.userInfo.get`` returns the fields of the gateway copy's table (nickname spelled as in
  the table, not ``nickName`` as in its example), with ``intVoiceNum`` from that example.
* Device group rows are ``userGroupId``, ``groupName``, ``parentId`` (the tracker page is
  missing; 0 marks a top-level group, as on the gateway group pages).
* Template rows wrap the documented fields as ``{"tripConfig": {...}}`` (docs section 9, item 25);
  a trip takes its logging interval (unless ``FleetConfig.interval_min`` overrides it), upload
  interval and flight mode from the template matching its goods.
* Trip time filter: a trip matches when its span ``[actualBeginTime, actualEndTime or now]``
  overlaps ``[beginTime, endTime]``, both ends inclusive; either bound may be given alone.
  ``wait`` trips have no span and are left out whenever a time filter is given.
* Reading windows are inclusive at both ends (``beginTime <= ts <= endTime``); only readings the
  device has uploaded by now are returned (see :mod:`.world` for recording versus uploading).
* Code filters (deviceCode, tripCode, deviceStatus) match exactly; ``templateName`` matches as a
  case-insensitive substring, the usual behaviour of a name search box.
* Ordering, which paging needs stable: devices by ``userDeviceId``, trips newest first by
  ``userDeviceTripId``, groups, grouped devices and templates by id, readings by ``ts``.
* With ``FleetConfig.bad_rows``, :meth:`Fleet.reading_rows` serves a trip's planted bad rows
  (:mod:`.bad_rows`) in place of the true fields of those readings, by reading index, so every
  row order and page sees them; :meth:`Fleet.ground_truth` stays true and
  :meth:`Fleet.bad_rows` lists what was planted.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from freshliance_pipeline.sandbox import readings as _readings
from freshliance_pipeline.sandbox import rows as _rows
from freshliance_pipeline.sandbox._indexset import IndexSet, permuted
from freshliance_pipeline.sandbox._noise import Draws
from freshliance_pipeline.sandbox.bad_rows import assign_bad_row_kinds
from freshliance_pipeline.sandbox.build import build_device, build_groups, build_trip
from freshliance_pipeline.sandbox.catalog import NICKNAMES
from freshliance_pipeline.sandbox.clock import Clock
from freshliance_pipeline.sandbox.config import FleetConfig, UnknownTripError
from freshliance_pipeline.sandbox.events import BAD_ROW_KINDS, BadRow, BadRowKind
from freshliance_pipeline.sandbox.listing import TripIndex, TripListing
from freshliance_pipeline.sandbox.templates import template_rows as _template_rows
from freshliance_pipeline.sandbox.world import (
    DAY,
    MAX_LATE_MS,
    MINUTE,
    Device,
    Group,
    TemplateChoice,
    Trip,
    TripIds,
)

_GROUND_TRUTH_SENSORS = ("temperature", "humidity", "light", "shock", "latitude", "longitude")
_TRIP_CACHE_SIZE = 8192

RowOrder = Literal["time", "reversed", "scrambled"]


@dataclass(frozen=True)
class Upload:
    """What one device uploaded at one instant: readings per probe (for webhook pushes)."""

    at_ms: int
    trip: Trip
    readings: dict[int, list[_readings.Reading]]


class Fleet:
    """The account's devices, trips and readings, as the tracker API would return them."""

    def __init__(self, config: FleetConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config if config is not None else FleetConfig()
        self.clock = clock if clock is not None else Clock(self.config.anchor)
        seed, anchor, days = self.config.seed, self.anchor_ms, self.config.days
        self.groups: tuple[Group, ...] = build_groups(seed)
        self.devices: tuple[Device, ...] = tuple(
            build_device(seed, index, self.groups, anchor, days)
            for index in range(self.config.devices)
        )
        self._by_code = {device.device_code: device for device in self.devices}
        self._templates = _template_rows(seed, anchor)
        self._choices = tuple(
            TemplateChoice(
                row["tripConfig"]["tripConfigTemplateId"],
                row["tripConfig"]["collectInterval"],
                row["tripConfig"]["activeTime"],
                row["tripConfig"]["flightFlag"] == 1,
            )
            for row in self._templates
        )
        history_start = anchor - days * DAY
        reference = history_start - 9 * DAY
        self.ids = TripIds(
            base=2000 + Draws(seed, "trip-ids").integer(0, 999),
            ref_ms=reference - reference % MINUTE,
            devices=self.config.devices,
        )
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, int], Trip] = OrderedDict()
        self._index = TripIndex(self.devices, self.ids)
        # (device index, k) of the trips that serve a bad row, and its kind; empty when off.
        self._bad_row_kinds: dict[tuple[int, int], BadRowKind] = (
            assign_bad_row_kinds(seed, self.devices, self.ids, anchor)
            if self.config.bad_rows
            else {}
        )

    @property
    def anchor_ms(self) -> int:
        return self.config.anchor

    # -- trips ---------------------------------------------------------------------------

    def trip_at(self, device: Device, k: int) -> Trip:
        """Trip ``k`` of a device, built once and kept in a bounded cache."""
        key = (device.index, k)
        with self._lock:
            trip = self._cache.get(key)
            if trip is not None:
                self._cache.move_to_end(key)
                return trip
        trip = build_trip(
            self.config.seed,
            device,
            k,
            ids=self.ids,
            templates=self._choices,
            anchor_ms=self.anchor_ms,
            interval_min=self.config.interval_min,
            late_uploads=self.config.late_uploads,
            bad_row_kind=self._bad_row_kinds.get(key),
        )
        with self._lock:
            self._cache[key] = trip
            if len(self._cache) > _TRIP_CACHE_SIZE:
                self._cache.popitem(last=False)
        return trip

    def trip(self, trip_id: int) -> Trip:
        """The trip with that id, whether or not the clock has reached its listing yet."""
        found = self._index.locate(trip_id)
        if found is None:
            raise UnknownTripError(f"no trip with userDeviceTripId {trip_id}")
        return self.trip_at(self.devices[found[0]], found[1])

    def listed_trip(self, trip_id: int) -> Trip:
        """The trip with that id if it exists at the clock's now."""
        trip = self.trip(trip_id)
        if trip.listed_ms > self.clock.now_ms():
            raise UnknownTripError(f"no trip with userDeviceTripId {trip_id}")
        return trip

    def latest_trip(self, device: Device) -> Trip | None:
        k = device.schedule.latest(self.clock.now_ms())
        return None if k is None else self.trip_at(device, k)

    def _recent(self, device: Device, now: int, count: int = 3) -> list[Trip]:
        latest = device.schedule.latest(now)
        if latest is None:
            return []
        first = max(device.schedule.first_k, latest - count + 1)
        return [self.trip_at(device, k) for k in range(latest, first - 1, -1)]

    @property
    def trips(self) -> list[Trip]:
        """Every trip listed at the clock's now, oldest first (builds them all: small fleets)."""
        now = self.clock.now_ms()
        return [self.trip_at(self.devices[d], k) for d, k in self._index.listed(now)]

    def trips_between(self, begin_ms: int, end_ms: int) -> Iterator[Trip]:
        """Trips whose actual span [begin, end] overlaps the window, in id order."""
        found = []
        for device in self.devices:
            for k in device.schedule.ks_between(begin_ms, end_ms):
                times = device.schedule.times(k)
                if times.begin_ms <= end_ms and times.end_ms >= begin_ms:
                    found.append((self.ids.encode(device.index, times.listed_ms), device, k))
        for _, device, k in sorted(found, key=lambda item: item[0]):
            yield self.trip_at(device, k)

    # -- account, devices, groups, templates ---------------------------------------------

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

    def devices_with(self, device_code: str | None) -> tuple[Device, ...]:
        if device_code is None:
            return self.devices
        device = self._by_code.get(device_code)
        return () if device is None else (device,)

    def device_row(self, device: Device) -> dict[str, Any]:
        now = self.clock.now_ms()
        recent = self._recent(device, now)
        return _rows.device_row(device, recent[0] if recent else None, recent, now)

    def device_rows(self, device_code: str | None = None) -> list[dict[str, Any]]:
        return [self.device_row(device) for device in self.devices_with(device_code)]

    def trip_listing(
        self,
        trip_code: str | None = None,
        device_code: str | None = None,
        begin_ms: int | None = None,
        end_ms: int | None = None,
    ) -> TripListing:
        """The trips matching the filters at the clock's now, newest first, built per page."""
        return self._index.listing(
            self, self.clock.now_ms(), trip_code, device_code, begin_ms, end_ms
        )

    def trip_rows(
        self,
        trip_code: str | None = None,
        device_code: str | None = None,
        begin_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        listing = self.trip_listing(trip_code, device_code, begin_ms, end_ms)
        return listing.rows(0, listing.total)

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
        for device in self.devices_with(device_code):
            if device.group.user_group_id != user_group_id:
                continue
            row = _rows.group_device_row(device, self.latest_trip(device), now)
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

    # -- readings ------------------------------------------------------------------------

    def _series(
        self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int, uploaded: bool
    ) -> tuple[Trip, IndexSet]:
        trip = self.listed_trip(trip_id)
        now = self.clock.now_ms()
        through = trip.visible_through(now) if uploaded else min(now, trip.actual_end_ms)
        return trip, trip.indices(probe_type, begin_ms, end_ms, through)

    def reading_count(
        self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int, *, uploaded: bool = True
    ) -> int:
        """Readings of the window that are visible (``uploaded=False``: that exist) now."""
        return len(self._series(trip_id, probe_type, begin_ms, end_ms, uploaded)[1])

    def reading_rows(
        self,
        trip_id: int,
        probe_type: int,
        begin_ms: int,
        end_ms: int,
        offset: int = 0,
        limit: int | None = None,
        *,
        order: RowOrder = "time",
        uploaded: bool = True,
    ) -> list[dict[str, Any]]:
        """``tracker.tripData.pageProbeData`` rows at positions ``offset .. offset + limit``."""
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError(f"offset and limit must not be negative, got {offset} and {limit}")
        trip, indices = self._series(trip_id, probe_type, begin_ms, end_ms, uploaded)
        total = len(indices)
        stop = total if limit is None else min(total, offset + limit)
        if order == "time":
            chosen = indices.slice(offset, stop - offset) if stop > offset else []
        else:
            chosen = [indices.at(permuted(j, total, order)) for j in range(offset, stop)]
        rows = [_readings.api_row(_readings.reading(trip, probe_type, i)) for i in chosen]
        planted = {b.ts: b.served for b in trip.bad_rows if b.probe_type == probe_type}
        if planted:
            for i, row in zip(chosen, rows, strict=True):
                served = planted.get(trip.actual_begin_ms + i * trip.interval_ms)
                if served is not None:
                    row.update(served)
        return rows

    def bad_rows(self, begin_ms: int, end_ms: int) -> list[BadRow]:
        """Every planted bad row (``FleetConfig.bad_rows``) whose TRUE ``ts`` is in
        ``[begin, end]``, of trips listed at the clock's now, by (trip id, probe type, ts)."""
        now = self.clock.now_ms()
        found: list[BadRow] = []
        for index, k in self._bad_row_kinds:
            times = self.devices[index].schedule.times(k)
            if times.listed_ms > now or times.begin_ms > end_ms or times.end_ms < begin_ms:
                continue
            trip = self.trip_at(self.devices[index], k)
            found.extend(bad for bad in trip.bad_rows if begin_ms <= bad.ts <= end_ms)
        return sorted(found, key=lambda bad: (bad.trip_id, bad.probe_type, bad.ts))

    def ground_truth(
        self,
        begin_ms: int,
        end_ms: int,
        *,
        trip_id: int | None = None,
        probe_type: int | None = None,
        uploaded: bool = True,
    ) -> list[dict[str, Any]]:
        """Every reading visible now (``uploaded=False``: that exists) in the window, all trips
        and probes unless narrowed, None for a sensor the device lacks.

        Ordered by (userDeviceTripId, probeType, ts); this is what a complete sync must hold.
        """
        rows = []
        for trip, probe, indices in self._windows(begin_ms, end_ms, trip_id, probe_type, uploaded):
            for i in indices:
                value = _readings.reading(trip, probe, i)
                row: dict[str, Any] = {
                    "userDeviceTripId": trip.trip_id,
                    "deviceCode": trip.device_code,
                    "probeType": probe,
                    "ts": value.ts,
                }
                row.update((name, getattr(value, name)) for name in _GROUND_TRUTH_SENSORS)
                rows.append(row)
        return rows

    def truth_counts(
        self,
        begin_ms: int,
        end_ms: int,
        *,
        trip_id: int | None = None,
        probe_type: int | None = None,
    ) -> dict[str, int]:
        """How many readings of the window exist and how many are visible, by arithmetic."""
        existing = sum(
            len(i) for _, _, i in self._windows(begin_ms, end_ms, trip_id, probe_type, False)
        )
        visible = sum(
            len(i) for _, _, i in self._windows(begin_ms, end_ms, trip_id, probe_type, True)
        )
        return {"recorded": existing, "visible": visible, "pending": existing - visible}

    def _windows(
        self,
        begin_ms: int,
        end_ms: int,
        trip_id: int | None,
        probe_type: int | None,
        uploaded: bool,
    ) -> Iterator[tuple[Trip, int, IndexSet]]:
        now = self.clock.now_ms()
        if trip_id is not None:
            trips: Iterator[Trip] = iter([self.listed_trip(trip_id)])
        else:
            trips = self.trips_between(begin_ms, min(end_ms, now))
        for trip in trips:
            through = trip.visible_through(now) if uploaded else min(now, trip.actual_end_ms)
            for probe in trip.probes:
                if probe_type is None or probe == probe_type:
                    yield trip, probe, trip.indices(probe, begin_ms, end_ms, through)

    def uploads(self, after_ms: int, through_ms: int) -> list[Upload]:
        """What every device uploaded in ``(after, through]``, by time then device.

        NOTE: pushes carry the TRUE readings; planted bad rows (``FleetConfig.bad_rows``) are only
        served by ``tracker.tripData.pageProbeData`` (:meth:`reading_rows`), never pushed.
        """
        found: list[Upload] = []
        for trip in self.trips_between(after_ms - MAX_LATE_MS, through_ms):
            if trip.final_upload_ms <= after_ms:
                continue
            for moment in trip.upload_moments(after_ms, through_ms):
                low, high = trip.visible_through(moment - 1), trip.visible_through(moment)
                batch = {
                    probe: [
                        _readings.reading(trip, probe, i)
                        for i in trip.indices(probe, low + 1, high, high)
                    ]
                    for probe in trip.probes
                }
                if any(batch.values()):
                    found.append(Upload(moment, trip, batch))
        found.sort(key=lambda upload: (upload.at_ms, upload.trip.device.index))
        return found


__all__ = [
    "BAD_ROW_KINDS",
    "MAX_LATE_MS",
    "BadRow",
    "BadRowKind",
    "Fleet",
    "FleetConfig",
    "RowOrder",
    "UnknownTripError",
    "Upload",
]
