"""Which reading windows a sync asks the gateway for: pure functions, no I/O.

A trip's readings lie between its actual begin and its actual end (or now, while it is still
recording). A sync over a time range asks, per trip and probe, for the part of that span that
falls inside the range, once, however many daily partitions the range covers: a 30-day backfill
of a 30-day trip costs the same calls as reading the trip once.

``tracker.tripData.pageProbeData`` takes ``beginTime`` and ``endTime`` in epoch milliseconds; we
treat both as inclusive (the docs do not say), so a range ``[start, end)`` is asked for as
``[start, end - 1 ms]`` and adjacent ranges never read a reading twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

PROBE_TYPES = (0, 1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # built-in, external probe


@dataclass(frozen=True)
class TripWindow:
    trip_id: int
    device_code: str
    begin_ms: int  # inclusive
    end_ms: int  # inclusive


def to_ms(value: Any) -> int | None:
    """Epoch ms from a datetime, a pandas Timestamp or a number; None for missing values."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        # Integer arithmetic: timestamp() * 1000 can land a millisecond low.
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware - EPOCH) // timedelta(milliseconds=1)
    try:
        if value != value:  # NaN
            return None
    except TypeError:
        pass
    return int(value)


def plan_trip_windows(
    trips: Iterable[Mapping[str, Any]], start_ms: int, end_ms: int, now_ms: int
) -> list[TripWindow]:
    """The window of each trip that overlaps ``[start_ms, end_ms)``.

    ``trips`` are lake rows of the trips dataset (``actualBeginTime`` and ``actualEndTime`` as
    datetimes or epoch ms). Trips that have not started have no readings and are skipped.
    """
    windows = []
    for trip in trips:
        begin = to_ms(trip.get("actualBeginTime"))
        if begin is None:
            continue
        end = to_ms(trip.get("actualEndTime"))
        trip_end = end if end is not None else now_ms
        lo = max(begin, start_ms)
        hi = min(trip_end, end_ms - 1)
        if lo <= hi:
            windows.append(
                TripWindow(
                    trip_id=int(trip["userDeviceTripId"]),
                    device_code=str(trip["deviceCode"]),
                    begin_ms=lo,
                    end_ms=hi,
                )
            )
    windows.sort(key=lambda w: (w.trip_id, w.begin_ms))
    return windows
