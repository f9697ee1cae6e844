"""Sensor values of one reading, computed from (trip, probe, index) alone.

No series is stored and no reading depends on the one before it, so any window of any trip costs
only the readings it returns. Value rules (all our assumptions; the docs only give field names,
types and ``ts`` in epoch milliseconds):

* temperature: the goods profile's setpoint plus two octaves of value noise and a little sensor
  jitter, bounded by ``setpoint +- swing``. Frozen cargo's reefer defrosts every six to eight
  hours: the built-in (air) probe warms for 20 to 40 minutes, the external (cargo) probe barely.
  Planted events (:mod:`.events`) override it: an excursion leaves the range by at least 0.4 °C
  (setpoint and door-open runs peak mid-run, a reefer failure keeps rising until it is fixed), a
  reefer failure's ramp and recovery stay inside the range, a sentinel reading carries its fault
  value. Every other reading is kept inside the goods range, so planted excursions are the only
  out-of-range runs. Rounded to 0.1 °C, as in the docs' examples.
* humidity (%RH): the profile's typical value wandering a few percent, rounded to 0.1.
* light (int lux): dark in a closed reefer; bright while loading (first and last two readings)
  and while a door is open, and on rare door checks that are too short to warm the cargo.
* shock (int level): 0 in steady transit, 1-2 while loading, occasional 1-3 bumps on the road.
* latitude/longitude: a GPS device waits at the origin, drives the straight lane to the
  destination and waits there, with a few metres of jitter; 6 decimal places (the docs' limit).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from freshliance_pipeline.sandbox._noise import signed, smooth, unit
from freshliance_pipeline.sandbox.catalog import BUILT_IN, GoodsProfile
from freshliance_pipeline.sandbox.events import Excursion
from freshliance_pipeline.sandbox.world import Trip

# Noise channels: each sensor of each probe draws from its own stream of the trip's key.
_SLOW, _FAST, _JITTER, _HUMIDITY, _HUMIDITY_JITTER, _LIGHT, _SHOCK, _LAT, _LON = range(9)


class Reading(NamedTuple):
    """One reading with every field; None where the device has no such sensor."""

    ts: int
    temperature: float
    humidity: float | None
    light: int | None
    shock: int | None
    latitude: float | None
    longitude: float | None


def reading(trip: Trip, probe_type: int, index: int) -> Reading:
    """Reading ``index`` of the trip's probe (index 0 is at the actual begin time)."""
    ts = trip.actual_begin_ms + index * trip.interval_ms
    keys = trip.keys[probe_type]
    sensors = trip.device.model.sensors(probe_type)
    humidity = _humidity(trip, keys, index) if "humidity" in sensors else None
    light = _light(trip, keys, index, ts) if "light" in sensors else None
    shock = _shock(trip, keys, index) if "shock" in sensors else None
    latitude = longitude = None
    if "gps" in sensors:
        latitude, longitude = _position(trip, keys, index, ts)
    temperature = _temperature(trip, probe_type, keys, index, ts)
    return Reading(ts, temperature, humidity, light, shock, latitude, longitude)


def api_row(value: Reading) -> dict[str, Any]:
    """The ``tracker.tripData.pageProbeData`` row: absent sensors are left out, not null."""
    row: dict[str, Any] = {"ts": value.ts, "temperature": value.temperature}
    for name in ("humidity", "longitude", "latitude", "light", "shock"):
        field = getattr(value, name)
        if field is not None:
            row[name] = field
    return row


def _temperature(trip: Trip, probe_type: int, keys: tuple[int, ...], index: int, ts: int) -> float:
    profile = trip.device.profile
    for sentinel in trip.sentinels:
        if sentinel.probe_type == probe_type and sentinel.ts == ts:
            return sentinel.temperature
    normal = _normal(trip, probe_type, keys, index, ts)
    for run in trip.excursions:
        if run.probe_type != probe_type:
            continue
        if run.start_ms <= ts <= run.end_ms:
            return round(_outside(run, ts, profile, trip.interval_ms), 1)
        if run.start_ms - run.ramp_ms <= ts < run.start_ms:
            warmed = (ts - run.start_ms + run.ramp_ms) / run.ramp_ms
            return _inside(normal + (profile.high - normal) * warmed, profile)
        if run.end_ms < ts <= run.end_ms + run.recovery_ms:
            cooled = (ts - run.end_ms) / run.recovery_ms
            return _inside(profile.high - (profile.high - normal) * cooled, profile)
    return _inside(normal, profile)


def _outside(run: Excursion, ts: int, profile: GoodsProfile, step: int) -> float:
    if run.cause == "reefer-failure":
        # A failed reefer keeps warming until someone fixes it.
        beyond = 0.4 + run.peak * (ts - run.start_ms) / max(step, run.end_ms - run.start_ms)
    else:
        # Peaks mid-run; the run's readings sit strictly inside the arch, so none is at zero.
        shape = math.sin(
            math.pi * (ts - run.start_ms + step) / (run.end_ms - run.start_ms + 2 * step)
        )
        beyond = 0.4 + run.peak * shape
    return profile.high + beyond if run.direction == "high" else profile.low - beyond


def _inside(value: float, profile: GoodsProfile) -> float:
    return round(min(profile.high, max(profile.low, value)), 1)


def _normal(trip: Trip, probe_type: int, keys: tuple[int, ...], index: int, ts: int) -> float:
    profile = trip.device.profile
    minutes = index * trip.collect_interval_min
    # The external probe sits in the cargo, whose mass smooths out the air's quick swings.
    fast_weight, jitter_weight = (0.3, 0.1) if probe_type == BUILT_IN else (0.15, 0.05)
    deviation = (
        (1.0 - fast_weight - jitter_weight) * smooth(keys[_SLOW], minutes / 180.0)
        + fast_weight * smooth(keys[_FAST], minutes / 40.0)
        + jitter_weight * signed(keys[_JITTER], index)
    )
    value = profile.setpoint + profile.swing * deviation
    if trip.defrost is not None:
        period, duration, phase = trip.defrost
        into = (ts - trip.actual_begin_ms + phase) % period
        if into < duration:
            strength = 0.6 if probe_type == BUILT_IN else 0.1
            value += (
                strength * (profile.high - profile.setpoint) * math.sin(math.pi * into / duration)
            )
    return value


def _humidity(trip: Trip, keys: tuple[int, ...], index: int) -> float:
    minutes = index * trip.collect_interval_min
    value = (
        trip.device.profile.humidity
        + 6.0 * smooth(keys[_HUMIDITY], minutes / 120.0)
        + 0.8 * signed(keys[_HUMIDITY_JITTER], index)
    )
    return round(min(100.0, max(0.0, value)), 1)


def _loading(trip: Trip, index: int) -> bool:
    return index < 2 or index > trip.final_index - 2


def _light(trip: Trip, keys: tuple[int, ...], index: int, ts: int) -> int:
    roll = unit(keys[_LIGHT], index)
    door_open = any(
        run.cause == "door-open" and run.start_ms <= ts <= run.end_ms for run in trip.excursions
    )
    if door_open or _loading(trip, index):
        return 150 + int(650 * roll)
    if roll < 0.008:
        return 20 + int(roll * 35_000)
    return 0


def _shock(trip: Trip, keys: tuple[int, ...], index: int) -> int:
    roll = unit(keys[_SHOCK], index)
    if _loading(trip, index):
        return 1 + int(roll * 2)
    if roll < 0.03:
        return 1 + int(roll / 0.01)
    return 0


def _position(trip: Trip, keys: tuple[int, ...], index: int, ts: int) -> tuple[float, float]:
    span = max(1, trip.actual_end_ms - trip.actual_begin_ms)
    progress = (ts - trip.actual_begin_ms) / span
    # About 8% of the trip at each end is spent at the dock.
    leg = min(1.0, max(0.0, (progress - 0.08) / 0.84))
    minutes = index * trip.collect_interval_min
    start, stop = trip.origin, trip.destination
    latitude = start.latitude + (stop.latitude - start.latitude) * leg
    longitude = start.longitude + (stop.longitude - start.longitude) * leg
    latitude += 0.0006 * smooth(keys[_LAT], minutes / 30.0)
    longitude += 0.0006 * smooth(keys[_LON], minutes / 30.0)
    return round(latitude, 6), round(longitude, 6)
