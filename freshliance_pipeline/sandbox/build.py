"""Building the world's entities from the seed: groups and devices at once, trips on demand.

Everything here is our assumption (the docs describe fields, not an account): who the devices
are (models rotate so that a fleet of five has every sensor combination; every third device is
single-use), which template a trip uses (the one for its goods, which decides its logging and
upload intervals and whether it may fly), its route, goods, parties and codes (a quarter have no
trip code, as the docs mark it optional), its planted events (:mod:`.events`) and its battery.
Device ``OFFLINE_DEVICE_INDEX`` records at the anchor while out of network, so every world of
four devices or more has data held back at its anchor. Given a ``bad_row_kind`` a trip also
serves one untrustworthy reading of that kind (:mod:`.bad_rows`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from freshliance_pipeline.sandbox._noise import Draws, derive, mix
from freshliance_pipeline.sandbox.bad_rows import plan_bad_rows
from freshliance_pipeline.sandbox.catalog import (
    CARRIERS,
    CONSIGNEES,
    CUSTOM_NAMES,
    DEVICE_MODELS,
    GOODS_PROFILES,
    GROUP_NAMES,
    ROUTES,
    VEHICLES,
)
from freshliance_pipeline.sandbox.events import BadRowKind, plan_readings, plan_spells
from freshliance_pipeline.sandbox.schedule import DAY, HOUR, MINUTE, cycling, single_use
from freshliance_pipeline.sandbox.world import (
    NOISE_CHANNELS,
    Device,
    Group,
    TemplateChoice,
    Trip,
    TripIds,
)

__all__ = ["OFFLINE_DEVICE_INDEX", "build_device", "build_groups", "build_trip", "use_type"]


def build_groups(seed: int) -> tuple[Group, ...]:
    base = 180 + Draws(seed, "groups").integer(0, 60)
    pharma = Group(base, GROUP_NAMES["pharma"], 0, GOODS_PROFILES["pharma"])
    food = Group(base + 1, GROUP_NAMES["produce"], 0, GOODS_PROFILES["produce"])
    # A sub-group, so consumers of parentId see a real hierarchy.
    frozen = Group(base + 2, GROUP_NAMES["frozen"], food.user_group_id, GOODS_PROFILES["frozen"])
    return (pharma, food, frozen)


def use_type(index: int) -> int:
    return 0 if index % 3 == 1 else 1


def build_device(
    seed: int, index: int, groups: tuple[Group, ...], anchor_ms: int, days: int
) -> Device:
    draws = Draws(seed, "device", index)
    base = 600 + Draws(seed, "device-ids").integer(0, 299)
    offset = derive(seed, "model-offset") % len(DEVICE_MODELS)
    kind = use_type(index)
    schedule = (
        single_use(seed, index, anchor_ms, days)
        if kind == 0
        else cycling(seed, index, anchor_ms, days)
    )
    first_listed = schedule.times(schedule.first_k).listed_ms
    return Device(
        index=index,
        user_device_id=base + index,
        device_code=f"2507{index + 1:05d}T",
        # Rotating through the models guarantees every sensor combination in a fleet of five.
        model=DEVICE_MODELS[(index + offset) % len(DEVICE_MODELS)],
        use_type=kind,
        bind_time_ms=first_listed - int(draws.between(HOUR, 10 * DAY)) // 1000 * 1000,
        custom_name=None if index % 5 == 4 else draws.choice(CUSTOM_NAMES),
        group=groups[(index + seed) % len(groups)],
        user_group_device_id=640 + index,
        home=ROUTES[(index + seed) % len(ROUTES)][0],
        schedule=schedule,
        flaky=draws.chance(0.1),
    )


# The device that is always out of network at the anchor, so every world has late data.
OFFLINE_DEVICE_INDEX = 3


def build_trip(
    seed: int,
    device: Device,
    k: int,
    *,
    ids: TripIds,
    templates: tuple[TemplateChoice, ...],
    anchor_ms: int,
    interval_min: int | None,
    late_uploads: bool,
    bad_row_kind: BadRowKind | None = None,
) -> Trip:
    times = device.schedule.times(k)
    begin, end = times.begin_ms, times.end_ms
    trip_id = ids.encode(device.index, times.listed_ms)
    draws = Draws(seed, "trip", device.index, k)
    profile = device.profile
    preferred = {"pharma": 0, "frozen": 1, "produce": 2}[profile.name]
    template = templates[preferred if preferred < len(templates) else draws.integer(0, 1)]
    interval = interval_min or template.collect_interval_min
    origin, destination = draws.choice(ROUTES)
    expected_begin = begin - int(draws.between(0, 45 * MINUTE))
    expected_begin -= expected_begin % (5 * MINUTE)
    planned_hours = max(1, round((end - begin) / HOUR))
    code_date = datetime.fromtimestamp(begin / 1000, tz=UTC).strftime("%Y%m%d")
    plan = plan_readings(
        draws,
        begin_ms=begin,
        interval_ms=interval * MINUTE,
        readings=(end - begin) // (interval * MINUTE) + 1,
        probes=device.model.probes,
        profile=profile,
        # Device 0 always carries one, so every fleet has an excursion to find.
        always_excursion=device.index == 0,
    )
    forced = device.index == OFFLINE_DEVICE_INDEX and device.schedule.latest(anchor_ms) == k
    spells = plan_spells(
        draws,
        begin_ms=begin,
        end_ms=end,
        upload_ms=template.active_time_min * MINUTE,
        flaky=device.flaky,
        flight=template.flight,
        offline_at=anchor_ms if forced and begin < anchor_ms < end else None,
    )
    defrost = None
    if profile.name == "frozen":
        period = draws.integer(6, 8) * HOUR
        defrost = (
            period,
            draws.integer(20, 40) * MINUTE,
            draws.integer(0, period // MINUTE) * MINUTE,
        )
    noise_key = derive(seed, "readings", device.index, k)
    trip = Trip(
        trip_id=trip_id,
        device=device,
        k=k,
        collect_interval_min=interval,
        active_time_min=template.active_time_min,
        template_id=template.template_id,
        listed_ms=times.listed_ms,
        actual_begin_ms=begin,
        actual_end_ms=end,
        expected_begin_ms=expected_begin,
        expected_end_ms=expected_begin + planned_hours * HOUR,
        origin=origin,
        destination=destination,
        goods_name=draws.choice(profile.goods),
        trip_code=None if draws.chance(0.25) else f"WB{code_date}-{trip_id}",
        asset_code=None if draws.chance(0.3) else f"PAL-{draws.integer(10000, 99999)}",
        vehicle_info=draws.choice(VEHICLES),
        carrier=draws.choice(CARRIERS),
        consignee=draws.choice(CONSIGNEES),
        excursions=plan.excursions,
        gaps=plan.gaps,
        sentinels=plan.sentinels,
        offline=spells if late_uploads else (),
        defrost=defrost,
        battery_start=100 if device.use_type == 0 else draws.integer(70, 100),
        battery_drain_per_day=round(draws.between(1.5, 9.0), 2),
        late_uploads=late_uploads,
        noise_key=noise_key,
        keys=tuple(
            tuple(mix(noise_key, probe * 16 + channel) for channel in range(NOISE_CHANNELS))
            for probe in (0, 1)
        ),
    )
    if bad_row_kind is None:
        return trip
    # Planned from its own draw stream, so every other part of the trip is as without it.
    return replace(trip, bad_rows=plan_bad_rows(seed, trip, bad_row_kind))
