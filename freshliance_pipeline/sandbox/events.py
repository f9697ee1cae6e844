"""What happens during a trip besides normal logging: the planted anomalies and upload outages.

Everything here is our assumption (the docs describe fields, not cargo physics or network
behaviour) and is listed on the :class:`~freshliance_pipeline.sandbox.world.Trip`, so tests can
check that a pipeline finds exactly what was planted:

* ``Excursion`` - a run of readings outside the goods range. Causes: ``setpoint`` (20 to 90
  minutes of drift high or low), ``door-open`` (one to three readings of warm air with light on
  the built-in probe) and ``reefer-failure`` (2.5 to 10 hours on the built-in probe: it warms
  slowly inside the range for the first quarter, is out for most of the rest, and cools back
  inside for the last sixth).
* ``Gap`` - readings that do not exist: ``probe-disconnected`` (the external probe unplugged for
  one to twelve hours) or ``logger-reset`` (the tracker rebooted; every probe misses ten to sixty
  minutes).
* ``Sentinel`` - one reading whose temperature is a value real loggers emit on a fault instead of
  a measurement (``SENTINELS``). It is out of range but is not an excursion.
* ``OfflineSpell`` - the device cannot upload (``no-network``; hours, or days for a few flaky
  devices) or must not (``flight-mode``: half the trips using a flight-mode template fly once,
  for 2 to 14 hours). It keeps logging, so nothing is lost: everything recorded is uploaded when
  the spell ends, with original timestamps. Spells start and end on the trip's upload grid.

Events that change readings sit in separate segments of the trip, away from its first and last
three readings (loading), so no two overlap and every planted range is exact.

With ``FleetConfig.bad_rows`` a trip may also carry a ``BadRow`` (planned in :mod:`.bad_rows`):
one reading the gateway serves with a field a client must not trust (``BAD_ROW_KINDS``). Unlike
the events above it changes only what ``tracker.tripData.pageProbeData`` answers, never the
reading itself: the ground truth keeps the true values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from freshliance_pipeline.sandbox._noise import Draws
from freshliance_pipeline.sandbox.catalog import BUILT_IN, EXTERNAL, Direction, GoodsProfile
from freshliance_pipeline.sandbox.schedule import DAY, HOUR, MINUTE

ExcursionCause = Literal["setpoint", "door-open", "reefer-failure"]
GapCause = Literal["probe-disconnected", "logger-reset"]
SpellCause = Literal["no-network", "flight-mode"]
BadRowKind = Literal[
    "ts_in_seconds",
    "ts_before_2000",
    "ts_in_future",
    "temperature_out_of_range",
    "temperature_unreadable",
    "latitude_out_of_range",
    "longitude_out_of_range",
    "conflicting_duplicate",
]
# In the order planted trips take them in turn (see bad_rows.assign_bad_row_kinds).
BAD_ROW_KINDS: tuple[BadRowKind, ...] = get_args(BadRowKind)
# Kinds that change a coordinate: only a GPS device's built-in probe has one.
GPS_BAD_ROW_KINDS: frozenset[BadRowKind] = frozenset(
    {"latitude_out_of_range", "longitude_out_of_range"}
)

# Values that stand for a fault, not a temperature: a DS18B20-style probe reads -127.0 when it
# is unplugged and 85.0 at power-on reset; loggers storing tenths in 16 bits clip at the ends.
SENTINELS: dict[float, str] = {
    -127.0: "probe read error",
    85.0: "power-on reset value",
    3276.7: "16-bit maximum",
    -3276.8: "16-bit minimum",
}


@dataclass(frozen=True)
class Excursion:
    """A planted out-of-range run: every reading of the probe with ts in [start, end] is out."""

    probe_type: int
    start_ms: int
    end_ms: int
    direction: Direction
    peak: float
    cause: ExcursionCause = "setpoint"
    # Reefer failures warm inside the range for ramp_ms before start and cool back down
    # (still inside the range) for recovery_ms after end.
    ramp_ms: int = 0
    recovery_ms: int = 0


@dataclass(frozen=True)
class Gap:
    """No reading of the probe exists with ts in [start, end]."""

    probe_type: int
    start_ms: int
    end_ms: int
    cause: GapCause


@dataclass(frozen=True)
class Sentinel:
    probe_type: int
    ts: int
    temperature: float
    meaning: str


@dataclass(frozen=True)
class OfflineSpell:
    """Uploads due in [start, end) are held back and all happen at ``end``."""

    start_ms: int
    end_ms: int
    cause: SpellCause


@dataclass(frozen=True)
class BadRow:
    """One served reading a client must not trust.

    ``ts`` is the TRUE timestamp of the affected reading (the ground truth's); ``served`` holds
    the values the gateway sends instead, by API field name, e.g. ``{"ts": 1749945600}`` for
    ``ts_in_seconds``. For ``conflicting_duplicate`` the affected reading is the later of the
    pair: it is served with ``ts`` of the reading one interval before it.
    """

    trip_id: int
    probe_type: int
    ts: int
    # A dict is not hashable; leaving it out of the hash keeps records (and trips) hashable.
    served: dict[str, Any] = field(hash=False)
    kind: BadRowKind


@dataclass(frozen=True)
class Plan:
    excursions: tuple[Excursion, ...] = ()
    gaps: tuple[Gap, ...] = ()
    sentinels: tuple[Sentinel, ...] = ()
    spells: tuple[OfflineSpell, ...] = ()


@dataclass
class _Request:
    kind: str
    size: int  # readings the event spans, ramps included
    shrinkable: bool = field(default=True)


def plan_readings(
    draws: Draws,
    *,
    begin_ms: int,
    interval_ms: int,
    readings: int,
    probes: tuple[int, ...],
    profile: GoodsProfile,
    always_excursion: bool,
) -> Plan:
    """Excursions, gaps and sentinels of one trip, each in its own segment of the readings."""
    steps = _Steps(interval_ms)
    requests: list[_Request] = []
    roll = draws.unit()
    count = 0 if roll < 0.7 else (1 if roll < 0.95 else 2)
    for _ in range(max(count, 1) if always_excursion else count):
        requests.append(_Request("setpoint", draws.integer(steps.at_least(20), steps.most(90)) + 1))
    for _ in range(draws.integer(0, 3) if draws.chance(0.5) else 0):
        requests.append(_Request("door-open", draws.integer(1, 3), shrinkable=False))
    if draws.chance(0.08):
        hours = draws.between(2.5, 10.0)
        requests.append(_Request("reefer-failure", steps.at_least(int(hours * 60)) + 3))
    if EXTERNAL in probes and draws.chance(0.15):
        requests.append(_Request("probe-disconnected", steps.at_least(int(draws.between(60, 720)))))
    if draws.chance(0.03):
        requests.append(_Request("logger-reset", steps.at_least(int(draws.between(10, 60)))))
    for _ in range(draws.integer(1, 2) if draws.chance(0.06) else 0):
        requests.append(_Request("sentinel", 1, shrinkable=False))

    usable_first, usable_stop = 3, readings - 3
    if not requests or usable_stop - usable_first < 8:
        return Plan()
    for i in range(len(requests) - 1, 0, -1):  # seeded Fisher-Yates: segment order
        j = draws.integer(0, i)
        requests[i], requests[j] = requests[j], requests[i]
    segment = (usable_stop - usable_first) // len(requests)
    excursions: list[Excursion] = []
    gaps: list[Gap] = []
    sentinels: list[Sentinel] = []
    for number, request in enumerate(requests):
        room = segment - 4  # two readings of margin on each side
        size = min(request.size, room) if request.shrinkable else request.size
        if size < (3 if request.kind == "reefer-failure" else 1) or size > room:
            continue
        first = usable_first + number * segment + 2 + draws.integer(0, room - size)
        start = begin_ms + first * interval_ms
        last = start + (size - 1) * interval_ms
        if request.kind == "setpoint":
            excursions.append(
                Excursion(
                    probe_type=draws.choice(probes),
                    start_ms=start,
                    end_ms=max(last, start + interval_ms),
                    direction=draws.choice(profile.excursion_directions),
                    peak=round(draws.between(0.5, 4.0), 1),
                )
            )
        elif request.kind == "door-open":
            excursions.append(
                Excursion(
                    BUILT_IN, start, last, "high", round(draws.between(1.0, 5.0), 1), "door-open"
                )
            )
        elif request.kind == "reefer-failure":
            # A quarter of the span warms inside the range, a sixth recovers, the rest is out.
            ramp, recovery = max(1, size // 4), max(1, size // 6)
            out_start = start + ramp * interval_ms
            out_end = last - recovery * interval_ms
            excursions.append(
                Excursion(
                    BUILT_IN,
                    out_start,
                    max(out_end, out_start),
                    "high",
                    round(draws.between(2.0, 8.0), 1),
                    "reefer-failure",
                    ramp_ms=ramp * interval_ms,
                    recovery_ms=recovery * interval_ms,
                )
            )
        elif request.kind == "probe-disconnected":
            gaps.append(Gap(EXTERNAL, start, last, "probe-disconnected"))
        elif request.kind == "logger-reset":
            gaps.extend(Gap(probe, start, last, "logger-reset") for probe in probes)
        else:
            probe = draws.choice(probes)
            value = draws.choice(tuple(SENTINELS))
            sentinels.append(Sentinel(probe, start, value, SENTINELS[value]))
    return Plan(
        excursions=tuple(sorted(excursions, key=lambda e: (e.probe_type, e.start_ms))),
        gaps=tuple(sorted(gaps, key=lambda g: (g.probe_type, g.start_ms))),
        sentinels=tuple(sorted(sentinels, key=lambda s: (s.probe_type, s.ts))),
    )


class _Steps:
    """Durations in readings for a logging interval, at least one."""

    def __init__(self, interval_ms: int) -> None:
        self._minutes = interval_ms / MINUTE

    def at_least(self, minutes: int) -> int:
        return max(1, math.ceil(minutes / self._minutes))

    def most(self, minutes: int) -> int:
        return max(1, int(minutes // self._minutes))


def plan_spells(
    draws: Draws,
    *,
    begin_ms: int,
    end_ms: int,
    upload_ms: int,
    flaky: bool,
    flight: bool,
    offline_at: int | None,
) -> tuple[OfflineSpell, ...]:
    """Upload outages of one trip, merged so that they never overlap, on the upload grid.

    ``offline_at`` forces a long no-network spell around that instant (so a world always has a
    device whose recent data is still held back at its anchor).
    """
    span = end_ms - begin_ms
    wanted: list[tuple[int, int, SpellCause]] = []
    for _ in range(draws.integer(1, 2) if draws.chance(0.5) else 0):
        start = begin_ms + int(draws.unit() * span)
        wanted.append((start, start + int(draws.between(20 * MINUTE, 4 * HOUR)), "no-network"))
    if draws.chance(0.35 if flaky else 0.03):
        start = begin_ms + int(draws.unit() * span)
        wanted.append((start, start + int(draws.between(12 * HOUR, 3 * DAY)), "no-network"))
    # Only some trips on a flight-mode template actually fly.
    if flight and span > 6 * HOUR and draws.chance(0.5):
        start = begin_ms + int(draws.between(0.1, 0.6) * span)
        wanted.append((start, start + int(draws.between(2 * HOUR, 14 * HOUR)), "flight-mode"))
    if offline_at is not None:
        start = max(begin_ms, offline_at - int(draws.between(4 * HOUR, 20 * HOUR)))
        wanted.append((start, offline_at + int(draws.between(6 * HOUR, 30 * HOUR)), "no-network"))

    def on_grid(ms: int) -> int:
        # The first upload moment at or after ms; never the trip's first (begin) upload.
        return begin_ms + max(1, -(-(ms - begin_ms) // upload_ms)) * upload_ms

    spells: list[OfflineSpell] = []
    for start, end, cause in sorted(wanted):
        low, high = on_grid(start), on_grid(end)
        if low > end_ms or high <= low:
            continue
        if spells and low <= spells[-1].end_ms:
            previous = spells.pop()
            low, high, cause = previous.start_ms, max(high, previous.end_ms), previous.cause
        spells.append(OfflineSpell(low, high, cause))
    return tuple(spells)
