"""Planting served readings a client must not trust (``FleetConfig.bad_rows``).

All of it is our assumption: the docs say ``ts`` is epoch milliseconds and give value types, not
how a gateway goes wrong. With the option on, about half of the trips that qualify serve exactly
one bad row through ``tracker.tripData.pageProbeData``; the reading itself (the ground truth,
counts, paging, the webhook pushes) stays true. Kinds (``events.BAD_ROW_KINDS``), for reading
``i`` of one probe:

* ``ts_in_seconds``: ``ts`` is the true ``ts // 1000`` (seconds where milliseconds are due);
* ``ts_before_2000``: ``ts`` is 30 * 365 days early (a reset device clock, in the 1990s);
* ``ts_in_future``: ``ts`` is 400 days late;
* ``temperature_out_of_range``: ``temperature`` is 6553.5 (a 16-bit tenth beyond any sensor);
* ``temperature_unreadable``: ``temperature`` is the string ``"--"``;
* ``latitude_out_of_range``: ``latitude`` is 91.5 (GPS devices, built-in probe only);
* ``longitude_out_of_range``: ``longitude`` is 181.25 (likewise);
* ``conflicting_duplicate``: reading ``i + 1`` is served with the ``ts`` of reading ``i``, so
  two rows share one ``ts`` with different values; the record is about reading ``i + 1``.

A trip qualifies when it ended at least ``MAX_LATE_MS`` plus a day before the anchor (so all of
it is uploaded at the anchor) and a probe has at least ``MIN_READINGS`` readings. A seeded draw
per trip picks about half of them; in ``userDeviceTripId`` order the picked trips take the kinds
in turn, those of devices without GPS skipping the coordinate kinds (GPS and other devices each
keep their own turn), so a world whose GPS devices hold eight picked trips has every kind. The
reading is never a sentinel, is at least ``_CLEAR_STEPS`` intervals from every excursion
(ramps included), gap and sentinel, is not among the first or last ``_EDGE`` readings and is at
least ``_MIDNIGHT_STEPS`` intervals from a UTC midnight (for a duplicate both readings are), so a
daily window always holds both rows of a pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from freshliance_pipeline.sandbox import readings as _readings
from freshliance_pipeline.sandbox._noise import Draws, derive, unit
from freshliance_pipeline.sandbox.catalog import BUILT_IN
from freshliance_pipeline.sandbox.events import (
    BAD_ROW_KINDS,
    GPS_BAD_ROW_KINDS,
    BadRow,
    BadRowKind,
)
from freshliance_pipeline.sandbox.world import DAY, MAX_LATE_MS, Device, Trip, TripIds

__all__ = [
    "ENDED_BEFORE_ANCHOR_MS",
    "LATITUDE_OUT_OF_RANGE",
    "LONGITUDE_OUT_OF_RANGE",
    "MIN_READINGS",
    "TEMPERATURE_OUT_OF_RANGE",
    "TEMPERATURE_UNREADABLE",
    "TS_BEFORE_2000_SHIFT_MS",
    "TS_IN_FUTURE_SHIFT_MS",
    "assign_bad_row_kinds",
    "plan_bad_rows",
    "served_values",
]

MIN_READINGS = 40
# A trip qualifies only when it ended at least this long before the anchor.
ENDED_BEFORE_ANCHOR_MS = MAX_LATE_MS + DAY
# The share of qualifying trips that get a bad row.
_SHARE = 0.5
_EDGE = 3
_CLEAR_STEPS = 2
_MIDNIGHT_STEPS = 3

TS_BEFORE_2000_SHIFT_MS = 30 * 365 * DAY
TS_IN_FUTURE_SHIFT_MS = 400 * DAY
TEMPERATURE_OUT_OF_RANGE = 6553.5
TEMPERATURE_UNREADABLE = "--"
LATITUDE_OUT_OF_RANGE = 91.5
LONGITUDE_OUT_OF_RANGE = 181.25


def _has_gps(device: Device) -> bool:
    return "gps" in device.model.sensors(BUILT_IN)


def assign_bad_row_kinds(
    seed: int, devices: Sequence[Device], ids: TripIds, anchor_ms: int
) -> dict[tuple[int, int], BadRowKind]:
    """Which trips get a bad row and of which kind, by (device index, k).

    About half of the trips that ended early enough are picked, by a seeded draw per trip. In
    ``userDeviceTripId`` order, the picked trips of GPS devices take ``BAD_ROW_KINDS`` in turn and
    those of the other devices take the same cycle with the coordinate kinds skipped (each its
    own turn), so every kind occurs once GPS devices hold eight picked trips. Trip times alone
    decide, so this costs no trip builds.
    """
    latest_end = anchor_ms - ENDED_BEFORE_ANCHOR_MS
    picked: list[tuple[int, Device, int]] = []
    for device in devices:
        pick = derive(seed, "bad-row-pick", device.index)
        schedule = device.schedule
        k = schedule.first_k
        while schedule.last_k is None or k <= schedule.last_k:
            times = schedule.times(k)
            if times.end_ms > latest_end:
                break
            if unit(pick, k) < _SHARE:
                picked.append((ids.encode(device.index, times.listed_ms), device, k))
            k += 1
    cycles = {
        True: BAD_ROW_KINDS,
        False: tuple(kind for kind in BAD_ROW_KINDS if kind not in GPS_BAD_ROW_KINDS),
    }
    turns = {True: 0, False: 0}
    kinds: dict[tuple[int, int], BadRowKind] = {}
    for _, device, k in sorted(picked, key=lambda item: item[0]):
        gps = _has_gps(device)
        cycle = cycles[gps]
        kinds[(device.index, k)] = cycle[turns[gps] % len(cycle)]
        turns[gps] += 1
    return kinds


def served_values(kind: BadRowKind, ts: int, interval_ms: int) -> dict[str, Any]:
    """What the gateway serves instead, for the affected reading with true ``ts``."""
    if kind == "ts_in_seconds":
        return {"ts": ts // 1000}
    if kind == "ts_before_2000":
        return {"ts": ts - TS_BEFORE_2000_SHIFT_MS}
    if kind == "ts_in_future":
        return {"ts": ts + TS_IN_FUTURE_SHIFT_MS}
    if kind == "temperature_out_of_range":
        return {"temperature": TEMPERATURE_OUT_OF_RANGE}
    if kind == "temperature_unreadable":
        return {"temperature": TEMPERATURE_UNREADABLE}
    if kind == "latitude_out_of_range":
        return {"latitude": LATITUDE_OUT_OF_RANGE}
    if kind == "longitude_out_of_range":
        return {"longitude": LONGITUDE_OUT_OF_RANGE}
    # conflicting_duplicate: the later reading of the pair takes the earlier one's ts.
    return {"ts": ts - interval_ms}


def _clear_zones(trip: Trip) -> list[tuple[int, int]]:
    """Inclusive ts ranges no bad row may touch: every planted event plus its margin."""
    margin = _CLEAR_STEPS * trip.interval_ms
    zones = [
        (run.start_ms - run.ramp_ms - margin, run.end_ms + run.recovery_ms + margin)
        for run in trip.excursions
    ]
    zones.extend((gap.start_ms - margin, gap.end_ms + margin) for gap in trip.gaps)
    zones.extend((s.ts - margin, s.ts + margin) for s in trip.sentinels)
    return zones


def _candidates(trip: Trip, pair: bool) -> list[int]:
    """Indices a bad row may sit on (for a pair: ``i`` where ``i`` and ``i + 1`` both may)."""
    step = trip.interval_ms
    away = _MIDNIGHT_STEPS * step
    zones = _clear_zones(trip)

    def usable(index: int) -> bool:
        ts = trip.actual_begin_ms + index * step
        into = ts % DAY
        if into < away or DAY - into < away:
            return False
        return not any(low <= ts <= high for low, high in zones)

    last = trip.final_index - _EDGE - (1 if pair else 0)
    return [i for i in range(_EDGE, last + 1) if usable(i) and (not pair or usable(i + 1))]


def _row_without_ts(trip: Trip, probe_type: int, index: int) -> dict[str, Any]:
    row = _readings.api_row(_readings.reading(trip, probe_type, index))
    del row["ts"]
    return row


def plan_bad_rows(seed: int, trip: Trip, kind: BadRowKind) -> tuple[BadRow, ...]:
    """The trip's bad row of that kind, or none if the trip cannot hold one (too few readings
    on the probes that may carry it, or no reading clear of its events and of midnight)."""
    begin, end = trip.actual_begin_ms, trip.actual_end_ms
    probes = [
        probe
        for probe in ((BUILT_IN,) if kind in GPS_BAD_ROW_KINDS else trip.probes)
        if len(trip.indices(probe, begin, end, end)) >= MIN_READINGS
    ]
    pair = kind == "conflicting_duplicate"
    candidates = _candidates(trip, pair)
    if not probes or not candidates:
        return ()
    draws = Draws(seed, "bad-row", trip.device.index, trip.k)
    probe = draws.choice(probes)
    start = draws.integer(0, len(candidates) - 1)
    for n in range(len(candidates)):
        index = candidates[(start + n) % len(candidates)]
        if pair:
            # Two rows with one ts must disagree on something, or they would be one reading.
            if _row_without_ts(trip, probe, index) == _row_without_ts(trip, probe, index + 1):
                continue
            index += 1
        ts = begin + index * trip.interval_ms
        served = served_values(kind, ts, trip.interval_ms)
        return (BadRow(trip.trip_id, probe, ts, served, kind),)
    return ()
