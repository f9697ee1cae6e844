"""The sandbox world's entities: groups, devices, trips, and what a trip knows about itself.

Devices are few and built eagerly; trips are many (a year of a large fleet is about a hundred
thousand) and are built only when asked for (:mod:`.build`), from (seed, device, k) where ``k``
numbers a device's trips (see :mod:`.schedule`). Readings are never stored either: reading ``i``
of a (trip, probe) sits at ``actual_begin_ms + i * interval`` and :mod:`.readings` computes it.

Recording and uploading are separate, as on a real tracker (the docs' ``activeTime``,
"uploading interval", is what makes the difference; the rest is our assumption):

* A reading exists once the clock has passed its ``ts`` (and the trip has not stopped), except in
  a ``Gap``.
* It becomes visible through the API when the device uploads it: on the trip's upload grid
  ``actual_begin_ms + j * activeTime`` (the first reading at ``j = 0``), and once more when the trip
  stops. An ``OfflineSpell`` holds every upload due inside it until it ends; then everything
  recorded so far arrives at once with its original timestamps. Visibility is therefore always a
  prefix of the trip's readings, and "visible through" is one comparison per spell.
* A trip's status follows the clock: ``wait`` from when it is listed until it begins, ``ing``
  while recording, ``end`` after it stops (known at once, even while its data is held back).
"""

from __future__ import annotations

from dataclasses import dataclass

from freshliance_pipeline.sandbox._indexset import IndexSet
from freshliance_pipeline.sandbox.catalog import City, DeviceModel, GoodsProfile
from freshliance_pipeline.sandbox.events import BadRow, Excursion, Gap, OfflineSpell, Sentinel
from freshliance_pipeline.sandbox.schedule import (
    DAY,
    HOUR,
    MINUTE,
    Schedule,
    Status,
    TripTimes,
    status,
)

__all__ = [
    "DAY",
    "HOUR",
    "MAX_LATE_MS",
    "MINUTE",
    "BadRow",
    "Device",
    "Excursion",
    "Gap",
    "Group",
    "OfflineSpell",
    "Sentinel",
    "TemplateChoice",
    "Trip",
    "TripIds",
]

NOISE_CHANNELS = 9
# The latest an upload can arrive after its trip stops: the longest offline spell and then some.
MAX_LATE_MS = 5 * DAY


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
    group: Group
    user_group_device_id: int
    home: City
    schedule: Schedule
    # A flaky device loses its network for days far more often than the rest.
    flaky: bool

    @property
    def profile(self) -> GoodsProfile:
        return self.group.profile


@dataclass(frozen=True)
class TemplateChoice:
    """What a trip takes from the configuration template it was started with."""

    template_id: int
    collect_interval_min: int
    active_time_min: int
    flight: bool


@dataclass(frozen=True)
class Trip:
    """One logging session of a device. Status and visible readings depend on the clock."""

    trip_id: int  # userDeviceTripId
    device: Device
    k: int
    collect_interval_min: int
    active_time_min: int
    template_id: int
    listed_ms: int
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
    gaps: tuple[Gap, ...]
    sentinels: tuple[Sentinel, ...]
    offline: tuple[OfflineSpell, ...]
    # Frozen cargo: the reefer defrosts every period for a while (None for other goods).
    defrost: tuple[int, int, int] | None  # (period, duration, phase) in ms
    battery_start: int
    battery_drain_per_day: float
    late_uploads: bool
    noise_key: int
    keys: tuple[tuple[int, ...], ...]  # noise stream keys per probe and channel
    # Served readings a client must not trust (FleetConfig.bad_rows; empty by default).
    bad_rows: tuple[BadRow, ...] = ()

    @property
    def device_code(self) -> str:
        return self.device.device_code

    @property
    def interval_ms(self) -> int:
        return self.collect_interval_min * MINUTE

    @property
    def upload_ms(self) -> int:
        return self.active_time_min * MINUTE

    @property
    def probes(self) -> tuple[int, ...]:
        return self.device.model.probes

    @property
    def final_index(self) -> int:
        """Index of the trip's last reading once it has ended."""
        return (self.actual_end_ms - self.actual_begin_ms) // self.interval_ms

    def status(self, now_ms: int) -> Status:
        return status(
            TripTimes(self.k, self.listed_ms, self.actual_begin_ms, self.actual_end_ms), now_ms
        )

    # -- uploads ---------------------------------------------------------------------------

    def _spell_at(self, ms: int) -> OfflineSpell | None:
        for spell in self.offline:
            if spell.start_ms <= ms < spell.end_ms:
                return spell
        return None

    def offline_at(self, now_ms: int) -> bool:
        return self._spell_at(now_ms) is not None

    @property
    def final_upload_ms(self) -> int:
        """When the last readings arrive: at the stop, or when a spell covering it ends."""
        spell = self._spell_at(self.actual_end_ms) if self.late_uploads else None
        return self.actual_end_ms if spell is None else spell.end_ms

    def visible_through(self, now_ms: int) -> int:
        """The latest ``ts`` uploaded by ``now_ms`` (readings are visible as a prefix)."""
        begin, end = self.actual_begin_ms, self.actual_end_ms
        if now_ms < begin:
            return begin - 1
        if not self.late_uploads or now_ms >= self.final_upload_ms:
            return min(now_ms, end)
        step = self.upload_ms
        grid = begin + (min(now_ms, end) - begin) // step * step
        spell = self._spell_at(grid)
        # Inside a spell: what was due from its start on waits; the upload before it went out.
        return grid if spell is None else spell.start_ms - step

    def upload_at(self, ts: int) -> int:
        """When the reading recorded at ``ts`` becomes visible."""
        if not self.late_uploads:
            return ts
        step = self.upload_ms
        due = min(
            self.actual_begin_ms - (self.actual_begin_ms - ts) // step * step, self.actual_end_ms
        )
        spell = self._spell_at(due)
        return due if spell is None else spell.end_ms

    def upload_moments(self, after_ms: int, through_ms: int) -> list[int]:
        """Every instant in ``(after, through]`` at which new readings become visible."""
        begin, end = self.actual_begin_ms, self.actual_end_ms
        low, high = max(after_ms + 1, begin), min(through_ms, end)
        if not self.late_uploads:
            step = self.interval_ms
            first = begin + max(0, -(-(low - begin) // step)) * step
            return list(range(first, high + 1, step))
        step = self.upload_ms
        first = begin + max(0, -(-(low - begin) // step)) * step
        moments = {g for g in range(first, high + 1, step) if self._spell_at(g) is None}
        moments.update(s.end_ms for s in self.offline if s.start_ms <= end)
        moments.add(self.final_upload_ms)
        return sorted(m for m in moments if after_ms < m <= through_ms)

    # -- readings --------------------------------------------------------------------------

    def indices(self, probe_type: int, begin_ms: int, end_ms: int, through_ms: int) -> IndexSet:
        """Indices of the probe's readings with ``begin <= ts <= end`` and ``ts <= through``."""
        if probe_type not in self.probes:
            return IndexSet(0, 0)
        start = self.actual_begin_ms
        low = max(begin_ms, start)
        high = min(end_ms, through_ms, self.actual_end_ms)
        if high < low:
            return IndexSet(0, 0)
        step = self.interval_ms
        first = -((start - low) // step)
        last = (high - start) // step
        holes = [
            (-((start - g.start_ms) // step), (g.end_ms - start) // step)
            for g in self.gaps
            if g.probe_type == probe_type
        ]
        return IndexSet(first, last + 1, holes)

    def battery_at(self, ts: int) -> int:
        days = max(0, ts - self.actual_begin_ms) / DAY
        return max(1, round(self.battery_start - self.battery_drain_per_day * days))


@dataclass(frozen=True)
class TripIds:
    """``userDeviceTripId = base + listed_minute * devices + device_index``, both ways."""

    base: int
    ref_ms: int  # a whole minute
    devices: int

    def encode(self, device_index: int, listed_ms: int) -> int:
        return self.base + (listed_ms - self.ref_ms) // MINUTE * self.devices + device_index

    def decode(self, trip_id: int) -> tuple[int, int] | None:
        """(device index, start of the minute it was listed in), or None if not an id."""
        offset = trip_id - self.base
        if offset < 0:
            return None
        minute, index = divmod(offset, self.devices)
        return index, self.ref_ms + minute * MINUTE
