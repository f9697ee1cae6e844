"""Which trips a ``tracker.deviceTrip.page`` call lists, without building the ones it skips.

The unfiltered listing (every trip, newest first) is the only one that spans the whole fleet's
history, so it keeps one sorted array of trip ids, 8 bytes a trip, grown as the clock reaches new
listings; a page is a bisection plus the 50 trips it shows. Filtered listings start from the most
selective filter: a trip code names its trip id (``WB<yyyymmdd>-<id>``), a device code one
device's sequence of trips, a time window each device's few slots around it (cached per window,
so paging through one costs the search once).
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from freshliance_pipeline.sandbox import rows as _rows
from freshliance_pipeline.sandbox.world import DAY, MINUTE, Device, TripIds

if TYPE_CHECKING:
    from freshliance_pipeline.sandbox.fleet import Fleet

_TRIP_CODE = re.compile(r"WB[0-9]{8}-([0-9]+)")
_WINDOW_CACHE = 16
_FAR = 2**62

# (device index, k, listed, begin, end) of a candidate trip.
Candidate = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class TripListing:
    """A filtered trip listing: its size, and its rows built only for the page asked for."""

    total: int
    pick: Callable[[int], tuple[int, int]]  # position -> (device index, k)
    build: Callable[[int, int], dict[str, Any]]

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        stop = min(self.total, offset + limit)
        return [self.build(*self.pick(position)) for position in range(offset, stop)]


class TripIndex:
    """Trip ids of the whole fleet, and the candidate search behind filtered listings."""

    def __init__(self, devices: tuple[Device, ...], ids: TripIds) -> None:
        self._devices = devices
        self._ids = ids
        self._lock = threading.Lock()
        self._sorted = array("q")
        self._horizon: int | None = None  # ids of trips listed before this (a whole minute)
        self._next_k = [device.schedule.first_k for device in devices]
        self._windows: OrderedDict[tuple[int, int], list[Candidate]] = OrderedDict()

    def locate(self, trip_id: int) -> tuple[int, int] | None:
        """(device index, k) of a trip id, or None when no trip has it."""
        decoded = self._ids.decode(trip_id)
        if decoded is None or decoded[0] >= len(self._devices):
            return None
        index, minute = decoded
        k = self._devices[index].schedule.k_listed_in_minute(minute)
        return None if k is None else (index, k)

    def _ensure(self, now: int) -> None:
        """Grow the sorted ids to cover every trip listed up to ``now``'s minute."""
        minute = now - now % MINUTE
        with self._lock:
            if self._horizon is not None and self._horizon > minute:
                return
            horizon = minute + 2 * DAY
            chunk = []
            for index, device in enumerate(self._devices):
                schedule, k = device.schedule, self._next_k[index]
                while schedule.last_k is None or k <= schedule.last_k:
                    listed = schedule.times(k).listed_ms
                    if listed >= horizon:
                        break
                    chunk.append(self._ids.encode(index, listed))
                    k += 1
                self._next_k[index] = k
            # Trips listed before the old horizon are all in: the new ids sort after them.
            chunk.sort()
            self._sorted.extend(chunk)
            self._horizon = horizon

    def _listed_ids(self, now: int) -> tuple[int, list[int]]:
        """(how many of the sorted ids lie in minutes before now's, now's minute's listed ids)."""
        self._ensure(now)
        minute = now - now % MINUTE
        first = self._ids.encode(0, minute)
        before = bisect_left(self._sorted, first)
        stop = bisect_left(self._sorted, first + self._ids.devices)
        current = []
        for trip_id in self._sorted[before:stop]:
            found = self.locate(trip_id)
            if found is not None:
                schedule = self._devices[found[0]].schedule
                if schedule.times(found[1]).listed_ms <= now:
                    current.append(trip_id)
        return before, current

    def listed(self, now: int) -> list[tuple[int, int]]:
        """Every trip listed at ``now`` as (device index, k), in ascending id order."""
        before, current = self._listed_ids(now)
        found = [self.locate(trip_id) for trip_id in [*self._sorted[:before], *current]]
        return [item for item in found if item is not None]

    def _window(self, low: int, high: int) -> list[Candidate]:
        """Trips whose whole span [begin, end] overlaps [low, high], whatever the clock."""
        key = (low, high)
        with self._lock:
            cached = self._windows.get(key)
            if cached is not None:
                self._windows.move_to_end(key)
                return cached
        found: list[Candidate] = []
        for device in self._devices:
            for k in device.schedule.ks_between(low, high):
                times = device.schedule.times(k)
                if times.begin_ms <= high and times.end_ms >= low:
                    found.append((device.index, k, times.listed_ms, times.begin_ms, times.end_ms))
        with self._lock:
            self._windows[key] = found
            if len(self._windows) > _WINDOW_CACHE:
                self._windows.popitem(last=False)
        return found

    def _of_device(self, device: Device, now: int, low: int, high: int) -> list[Candidate]:
        schedule = device.schedule
        latest = schedule.latest(now)
        if latest is None:
            return []
        ks = schedule.ks_between(low, high) if (low, high) != (-_FAR, _FAR) else None
        found = []
        for k in range(schedule.first_k, latest + 1) if ks is None else ks:
            times = schedule.times(k)
            found.append((device.index, k, times.listed_ms, times.begin_ms, times.end_ms))
        return found

    def listing(
        self,
        fleet: Fleet,
        now: int,
        trip_code: str | None,
        device_code: str | None,
        begin_ms: int | None,
        end_ms: int | None,
    ) -> TripListing:
        def build(index: int, k: int) -> dict[str, Any]:
            return _rows.trip_row(fleet.trip_at(self._devices[index], k), now)

        timed = begin_ms is not None or end_ms is not None
        low = -_FAR if begin_ms is None else begin_ms
        high = (now if end_ms is None else end_ms) if timed else _FAR
        if trip_code is None and device_code is None and not timed:
            return self._everything(now, build)
        if trip_code is not None:
            candidates = self._by_trip_code(trip_code)
        elif device_code is not None:
            devices = fleet.devices_with(device_code)
            candidates = [c for d in devices for c in self._of_device(d, now, low, high)]
        else:
            candidates = self._window(low, high)
        chosen = []
        for index, k, listed, begin, end in candidates:
            if listed > now:
                continue
            if device_code is not None and self._devices[index].device_code != device_code:
                continue
            if timed and not (begin <= now and begin <= high and min(end, now) >= low):
                continue
            trip = fleet.trip_at(self._devices[index], k) if trip_code is not None else None
            if trip is not None and trip.trip_code != trip_code:
                continue
            chosen.append((self._ids.encode(index, listed), index, k))
        chosen.sort(reverse=True)
        return TripListing(len(chosen), lambda p: (chosen[p][1], chosen[p][2]), build)

    def _by_trip_code(self, trip_code: str) -> list[Candidate]:
        match = _TRIP_CODE.fullmatch(trip_code)
        found = self.locate(int(match.group(1))) if match else None
        if found is None:
            return []
        index, k = found
        times = self._devices[index].schedule.times(k)
        return [(index, k, times.listed_ms, times.begin_ms, times.end_ms)]

    def _everything(self, now: int, build: Callable[[int, int], dict[str, Any]]) -> TripListing:
        before, current = self._listed_ids(now)
        newest = sorted(current, reverse=True)

        def pick(position: int) -> tuple[int, int]:
            if position < len(newest):
                trip_id = newest[position]
            else:
                trip_id = self._sorted[before - 1 - (position - len(newest))]
            found = self.locate(trip_id)
            assert found is not None, f"listed trip id {trip_id} does not decode"
            return found

        return TripListing(before + len(newest), pick, build)
