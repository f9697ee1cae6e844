"""The sandbox world's entities and how they are built from a seed.

Devices and trips are few, so they are built eagerly as frozen dataclasses; readings are many, so
they are never stored: reading ``i`` of a (trip, probe) sits at ``actual_begin_ms + i * interval``
and :mod:`.readings` computes its values from the seed, the trip and ``i``.

Schedule (our assumptions; the docs give no account to copy): the first three devices end their
latest trip in the ``end``, ``ing`` and ``wait`` states so every status occurs; single-use
devices have one trip, multi-use devices a sequence, each trip lasting one to six days with a
5, 10 or 15 minute logging interval. Most devices keep their history within the last seven days
before the anchor (what the demo syncs); every fourth device, when multi-use, has a sparse trail
that reaches back the whole ``days``. Trip ids grow with the actual start time across the fleet,
as ids issued by one platform would; a device's ``userDeviceTripId`` is its newest trip (the docs
only suggest this, section 9 item 26).

Planted excursions are contiguous runs of readings outside the goods range lasting 20 to 90
minutes, at most one per third of a trip, recorded per trip for the tests to find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from freshliance_pipeline.sandbox._noise import Draws, derive
from freshliance_pipeline.sandbox.catalog import (
    CARRIERS,
    CONSIGNEES,
    CUSTOM_NAMES,
    DEVICE_MODELS,
    GOODS_PROFILES,
    GROUP_NAMES,
    ROUTES,
    VEHICLES,
    City,
    DeviceModel,
    Direction,
    GoodsProfile,
)

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
RECENT_DAYS = 7


@dataclass(frozen=True)
class Excursion:
    """A planted out-of-range run: every reading of the probe with ts in [start, end] is out."""

    probe_type: int
    start_ms: int
    end_ms: int
    direction: Direction
    peak: float


@dataclass(frozen=True)
class Group:
    user_group_id: int
    group_name: str
    parent_id: int
    profile: GoodsProfile


@dataclass(frozen=True)
class Device:
    index: int
    user_device_id: int
    device_code: str
    model: DeviceModel
    use_type: int
    bind_time_ms: int
    custom_name: str | None
    battery: int
    group: Group
    user_group_device_id: int
    home: City

    @property
    def profile(self) -> GoodsProfile:
        return self.group.profile


@dataclass(frozen=True)
class Trip:
    """One logging session of a device. Status and visible readings depend on the clock."""

    trip_id: int  # userDeviceTripId
    device: Device
    collect_interval_min: int
    actual_begin_ms: int
    # When the trip stops; reported as actualEndTime only once the clock has passed it.
    actual_end_ms: int
    expected_begin_ms: int
    expected_end_ms: int
    origin: City
    destination: City
    goods_name: str
    trip_code: str | None
    asset_code: str | None
    vehicle_info: str
    carrier: str
    consignee: str
    excursions: tuple[Excursion, ...]
    noise_key: int

    @property
    def device_code(self) -> str:
        return self.device.device_code

    @property
    def interval_ms(self) -> int:
        return self.collect_interval_min * MINUTE

    @property
    def probes(self) -> tuple[int, ...]:
        return self.device.model.probes

    @property
    def final_index(self) -> int:
        """Index of the trip's last reading once it has ended."""
        return (self.actual_end_ms - self.actual_begin_ms) // self.interval_ms

    def status(self, now_ms: int) -> str:
        if now_ms < self.actual_begin_ms:
            return "wait"
        return "end" if self.actual_end_ms <= now_ms else "ing"

    def index_range(self, begin_ms: int, end_ms: int, now_ms: int) -> range:
        """Indices of the readings with begin <= ts <= end that exist at ``now_ms``."""
        low = max(begin_ms, self.actual_begin_ms)
        high = min(end_ms, now_ms, self.actual_end_ms)
        if high < low:
            return range(0)
        first = -((self.actual_begin_ms - low) // self.interval_ms)
        last = (high - self.actual_begin_ms) // self.interval_ms
        return range(first, last + 1)


@dataclass(frozen=True)
class World:
    groups: tuple[Group, ...]
    devices: tuple[Device, ...]
    trips: tuple[Trip, ...]


def build_world(seed: int, device_count: int, days: int, anchor_ms: int) -> World:
    groups = _groups(seed)
    spans: list[tuple[int, Device, int]] = []
    devices: list[Device] = []
    for index in range(device_count):
        schedule = _schedule(seed, index, days, anchor_ms)
        device = _device(seed, index, groups, first_begin_ms=schedule[0][0])
        devices.append(device)
        spans.extend((begin, device, end) for begin, end in schedule)
    spans.sort(key=lambda span: (span[0], span[1].index))

    draws = Draws(seed, "trip-ids")
    trip_id = 2000 + draws.integer(0, 999)
    trips: list[Trip] = []
    for begin, device, end in spans:
        trip_id += draws.integer(1, 6)
        trips.append(_trip(seed, trip_id, device, begin, end))
    return World(groups, tuple(devices), tuple(trips))


def _groups(seed: int) -> tuple[Group, ...]:
    base = 180 + Draws(seed, "groups").integer(0, 60)
    pharma = Group(base, GROUP_NAMES["pharma"], 0, GOODS_PROFILES["pharma"])
    food = Group(base + 1, GROUP_NAMES["produce"], 0, GOODS_PROFILES["produce"])
    # A sub-group, so consumers of parentId see a real hierarchy.
    frozen = Group(base + 2, GROUP_NAMES["frozen"], food.user_group_id, GOODS_PROFILES["frozen"])
    return (pharma, food, frozen)


def _use_type(index: int) -> int:
    return 0 if index % 3 == 1 else 1


def _device(seed: int, index: int, groups: tuple[Group, ...], first_begin_ms: int) -> Device:
    draws = Draws(seed, "device", index)
    base = 600 + Draws(seed, "device-ids").integer(0, 299)
    offset = derive(seed, "model-offset") % len(DEVICE_MODELS)
    custom_name = None if index % 5 == 4 else draws.choice(CUSTOM_NAMES)
    return Device(
        index=index,
        user_device_id=base + index,
        device_code=f"2507{index + 1:05d}T",
        # Rotating through the models guarantees every sensor combination in a fleet of five.
        model=DEVICE_MODELS[(index + offset) % len(DEVICE_MODELS)],
        use_type=_use_type(index),
        bind_time_ms=first_begin_ms - int(draws.between(HOUR, 10 * DAY)),
        custom_name=custom_name,
        battery=draws.integer(15, 100),
        group=groups[(index + seed) % len(groups)],
        user_group_device_id=640 + index,
        home=ROUTES[(index + seed) % len(ROUTES)][0],
    )


def _final_status(index: int, draws: Draws) -> str:
    if index < 3:
        return ("end", "ing", "wait")[index]
    roll = draws.unit()
    return "end" if roll < 0.55 else ("ing" if roll < 0.9 else "wait")


def _duration(draws: Draws) -> int:
    # Squared draw: short trips are common, six-day ones rare.
    return int(DAY * (1 + 5 * draws.unit() ** 2))


def _schedule(seed: int, index: int, days: int, anchor_ms: int) -> list[tuple[int, int]]:
    """(begin, end) of the device's trips, oldest first."""
    draws = Draws(seed, "schedule", index)
    floor = anchor_ms - days * DAY
    mode = _final_status(index, draws)
    length = _duration(draws)
    if mode == "ing":
        begin = max(anchor_ms - int(length * draws.between(0.15, 0.85)), floor)
        end = max(begin + length, anchor_ms + HOUR)
    elif mode == "wait":
        begin = anchor_ms + int(draws.between(2 * HOUR, 48 * HOUR))
        end = begin + length
    else:
        end = anchor_ms - int(draws.between(0.5 * HOUR, min(36 * HOUR, days * DAY / 4)))
        begin = max(end - length, floor)
    spans = [(begin, end)]

    if _use_type(index) == 1:
        deep = index % 4 == 3
        limit = floor if deep else anchor_ms - min(days, RECENT_DAYS) * DAY
        # A deep trail keeps going until it reaches the start of the history.
        for _ in range(12 if deep else draws.integer(1, 3)):
            gap = draws.between(DAY, 4 * DAY) if deep else draws.between(2 * HOUR, 30 * HOUR)
            # A tracker records one trip at a time: the one before a waiting trip has ended.
            end = min(spans[-1][0] - int(gap), anchor_ms - 30 * MINUTE)
            begin = end - _duration(draws)
            if begin < limit:
                if end - limit < DAY:
                    break
                begin = limit + int(draws.between(0, 6 * HOUR))
            spans.append((begin, end))
    # Trackers stamp whole seconds (the docs' ts examples end in 000).
    return [(b - b % 1000, e - e % 1000) for b, e in reversed(spans)]


def _trip(seed: int, trip_id: int, device: Device, begin: int, end: int) -> Trip:
    draws = Draws(seed, "trip", trip_id)
    interval = draws.choice((5, 10, 15))
    origin, destination = draws.choice(ROUTES)
    expected_begin = begin - int(draws.between(0, 45 * MINUTE))
    expected_begin -= expected_begin % (5 * MINUTE)
    planned_hours = max(1, round((end - begin) / HOUR))
    code_date = _yyyymmdd(begin)
    return Trip(
        trip_id=trip_id,
        device=device,
        collect_interval_min=interval,
        actual_begin_ms=begin,
        actual_end_ms=end,
        expected_begin_ms=expected_begin,
        expected_end_ms=expected_begin + planned_hours * HOUR,
        origin=origin,
        destination=destination,
        goods_name=draws.choice(device.profile.goods),
        trip_code=None if draws.chance(0.25) else f"WB{code_date}-{trip_id}",
        asset_code=None if draws.chance(0.3) else f"PAL-{draws.integer(10000, 99999)}",
        vehicle_info=draws.choice(VEHICLES),
        carrier=draws.choice(CARRIERS),
        consignee=draws.choice(CONSIGNEES),
        excursions=_excursions(draws, device, begin, end, interval),
        noise_key=derive(seed, "readings", trip_id),
    )


def _excursions(
    draws: Draws, device: Device, begin: int, end: int, interval_min: int
) -> tuple[Excursion, ...]:
    roll = draws.unit()
    count = 0 if roll < 0.7 else (1 if roll < 0.95 else 2)
    # Device 0's trips always carry one, so every fleet has an excursion to find.
    count = max(count, 1) if device.index == 0 else count
    step = interval_min * MINUTE
    readings = (end - begin) // step + 1
    segment = readings // 3
    runs: list[Excursion] = []
    for part in range(count):
        intervals = draws.integer(math.ceil(20 / interval_min), 90 // interval_min)
        room = segment - intervals - 4
        if room <= 0:
            break
        first = part * segment + 2 + draws.integer(0, room)
        runs.append(
            Excursion(
                probe_type=draws.choice(device.model.probes),
                start_ms=begin + first * step,
                end_ms=begin + (first + intervals) * step,
                direction=draws.choice(device.profile.excursion_directions),
                peak=round(draws.between(0.5, 4.0), 1),
            )
        )
    return tuple(runs)


def _yyyymmdd(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y%m%d")
