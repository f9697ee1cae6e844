"""When each device's trips happen, as arithmetic in the trip's sequence number ``k``.

No trip list is ever built: trip ``k`` of a device is computed from (seed, device, k) in a few
hashes, and "which trips touch this window" or "the newest trip at this instant" is a division
and a check of two or three neighbours. That is what lets a fleet of thousands of devices over a
year start instantly. All of it is our assumption; the docs describe trip fields, not how an
account's trips are spread over time.

* A multi-use device cycles: its time axis is cut into slots of ``cycle_ms`` (1.5 to 6.5 days,
  whole minutes), and slot ``k`` holds trip ``k``: idle at the dock for a few per cent of the
  slot, recording for most of it, idle again at the end. Slot 0 holds the anchor, so negative
  ``k`` are history and positive ``k`` the future a running clock walks into.
* A single-use device has exactly one trip (``k`` = 0), recent-biased: most have ended within a
  few days of the anchor, some are recording and a few wait to start.
* A trip is *listed* (the platform knows it, in ``wait`` state) from ``listed_ms``: 30 minutes to
  36 hours before it starts, but never before the device's previous trip has ended (a tracker
  runs one trip at a time, so its ``userDeviceTripId`` is always its newest listed trip).
* A device's first trip is the first that ends inside the history (``anchor - days``), or the one
  listed at the anchor if that is earlier, so every device has a trip at the anchor.
* ``userDeviceTripId`` is ``base + listed_minute * devices + device_index`` (minutes counted from
  nine days before the history starts): ids grow with the time
  a trip was created across the whole fleet, as ids issued by one platform do, and decode back to
  (device, listed time) without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from freshliance_pipeline.sandbox._noise import Draws, derive, unit

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MAX_LEAD = 36 * HOUR
MIN_LEAD = 30 * MINUTE
# Lead slack for slot arithmetic: a trip is listed at most this long before its slot starts.
_LIST_SLACK = MAX_LEAD + HOUR

Status = Literal["end", "ing", "wait"]


@dataclass(frozen=True)
class TripTimes:
    k: int
    listed_ms: int
    begin_ms: int
    end_ms: int


def _floor_to(value: int, step: int) -> int:
    return value - value % step


class Schedule:
    """Trip times of one device; ``first_k`` is its oldest trip, ``last_k`` its newest (None:
    the device keeps having trips as long as the clock runs)."""

    first_k: int
    last_k: int | None = None

    def times(self, k: int) -> TripTimes:
        raise NotImplementedError

    def ks_between(self, lo_ms: int, hi_ms: int) -> range:
        """Every k whose [listed, end] could touch [lo, hi]; callers check each exactly."""
        raise NotImplementedError

    def latest(self, now_ms: int) -> int | None:
        """The newest trip listed at ``now_ms``, or None before the device's first one."""
        raise NotImplementedError

    def k_listed_in_minute(self, minute_ms: int) -> int | None:
        """The trip listed within ``[minute_ms, minute_ms + 1 min)``; a device lists at most one
        trip a minute (its trips are hours apart), which is what makes trip ids decodable."""
        for k in self.ks_between(minute_ms, minute_ms + MINUTE):
            if _floor_to(self.times(k).listed_ms, MINUTE) == minute_ms:
                return k
        return None


class CycleSchedule(Schedule):
    """A multi-use device: trip k fills most of slot ``[s0 + k*cycle, s0 + (k+1)*cycle)``."""

    def __init__(self, key: int, cycle_ms: int, anchor_ms: int, floor_ms: int, mode: str) -> None:
        self._key = key
        self.cycle_ms = cycle_ms
        phase = self._phase(mode, unit(key, -7))
        self._s0 = _floor_to(anchor_ms, 1000) - phase
        # No lower bound while the bounds themselves are being found.
        self.first_k = -(2**62)
        by_history = self._first_ending_after(floor_ms)
        at_anchor = self.latest(anchor_ms)
        self.first_k = by_history if at_anchor is None else min(by_history, at_anchor)

    def _offsets(self, k: int) -> tuple[int, int, int]:
        """(idle before, idle after, listing lead) of slot k, whole seconds or minutes."""
        cycle = self.cycle_ms
        before = max(HOUR, _floor_to(int((0.03 + 0.12 * unit(self._key, 3 * k)) * cycle), 1000))
        after = max(
            30 * MINUTE, _floor_to(int((0.02 + 0.06 * unit(self._key, 3 * k + 1)) * cycle), 1000)
        )
        lead = MIN_LEAD + _floor_to(int(unit(self._key, 3 * k + 2) * (MAX_LEAD - MIN_LEAD)), MINUTE)
        return before, after, lead

    def _relative(self, k: int) -> TripTimes:
        """Times of trip k relative to s0 (all whole seconds, so shifting by s0 is exact)."""
        before, after, lead = self._offsets(k)
        slot = k * self.cycle_ms
        begin = slot + before
        end = slot + self.cycle_ms - after
        previous_end = slot - self._offsets(k - 1)[1]
        listed = max(begin - lead, previous_end + MINUTE)
        return TripTimes(k, listed, begin, end)

    def _phase(self, mode: str, roll: float) -> int:
        """Where the anchor sits in slot 0, so that the device's state at the anchor is ``mode``."""
        cycle = self.cycle_ms
        this, following = self._relative(0), self._relative(1)
        if mode == "ing":
            low, high = this.begin_ms, this.end_ms
        elif mode == "wait":
            low, high = max(0, this.listed_ms), this.begin_ms
        elif mode == "end":
            low, high = this.end_ms, min(cycle, following.listed_ms)
        else:
            return _floor_to(int(roll * cycle), 1000)
        # The middle of the window (at least a minute wide), so rounding cannot leave it.
        return _floor_to((low + high) // 2, 1000)

    def times(self, k: int) -> TripTimes:
        rel = self._relative(k)
        s0 = self._s0
        return TripTimes(k, s0 + rel.listed_ms, s0 + rel.begin_ms, s0 + rel.end_ms)

    def _slot(self, ms: int) -> int:
        return (ms - self._s0) // self.cycle_ms

    def _first_ending_after(self, floor_ms: int) -> int:
        k = self._slot(floor_ms) - 1
        while self.times(k).end_ms < floor_ms:
            k += 1
        return k

    def ks_between(self, lo_ms: int, hi_ms: int) -> range:
        first = max(self.first_k, self._slot(lo_ms) - 1)
        return range(first, max(first, self._slot(hi_ms + _LIST_SLACK) + 1))

    def latest(self, now_ms: int) -> int | None:
        k = self._slot(now_ms + _LIST_SLACK)
        while k >= self.first_k:
            if self.times(k).listed_ms <= now_ms:
                return k
            k -= 1
        return None


class SingleSchedule(Schedule):
    """A single-use device: one trip, k = 0."""

    def __init__(self, times: TripTimes) -> None:
        self._times = times
        self.first_k = 0
        self.last_k = 0

    def times(self, k: int) -> TripTimes:
        if k != 0:
            raise IndexError(f"a single-use device has only trip 0, not {k}")
        return self._times

    def ks_between(self, lo_ms: int, hi_ms: int) -> range:
        return range(1)

    def latest(self, now_ms: int) -> int | None:
        return 0 if self._times.listed_ms <= now_ms else None


def _mode(index: int) -> str:
    """State at the anchor: the first three devices guarantee every trip status occurs, and the
    fourth records at the anchor while out of network (see ``build.OFFLINE_DEVICE_INDEX``)."""
    if index < 4:
        return ("end", "ing", "wait", "ing")[index]
    return "any"


def single_use(seed: int, index: int, anchor_ms: int, days: int) -> SingleSchedule:
    draws = Draws(seed, "single-use", index)
    mode = _mode(index)
    if mode == "any":
        roll = draws.unit()
        mode = "end" if roll < 0.6 else ("ing" if roll < 0.85 else "wait")
    # Squared draw: short trips are common, six-day ones rare.
    length = _floor_to(int(DAY * (1 + 5 * draws.unit() ** 2)), 1000)
    if mode == "ing":
        begin = anchor_ms - int(length * draws.between(0.15, 0.85))
        end = max(begin + length, anchor_ms + HOUR)
    elif mode == "wait":
        begin = anchor_ms + int(draws.between(2 * HOUR, 48 * HOUR))
        end = begin + length
    else:
        # Ended trips lean recent: a squared draw over most of the history.
        spread = max(0.0, days * DAY * 0.85 - length)
        end = anchor_ms - int(30 * MINUTE + draws.unit() ** 2 * spread)
        begin = end - length
    begin, end = _floor_to(begin, 1000), _floor_to(end, 1000)
    lead = int(draws.between(MIN_LEAD, MAX_LEAD))
    # Bound before the anchor, so a waiting single-use trip is already listed there.
    listed = _floor_to(min(begin - lead, anchor_ms - 10 * MINUTE), 1000)
    return SingleSchedule(TripTimes(0, listed, begin, end))


def cycling(seed: int, index: int, anchor_ms: int, days: int) -> CycleSchedule:
    key = derive(seed, "schedule", index)
    draws = Draws(seed, "cycle", index)
    cycle = _floor_to(int(DAY * (1.5 + 5 * draws.unit() ** 1.5)), MINUTE)
    return CycleSchedule(key, cycle, anchor_ms, anchor_ms - days * DAY, _mode(index))


def status(times: TripTimes, now_ms: int) -> Status:
    if now_ms < times.begin_ms:
        return "wait"
    return "end" if times.end_ms <= now_ms else "ing"
