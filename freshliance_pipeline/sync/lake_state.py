"""What the lake already holds, as the sync needs it: current trips, stored readings and their
rejects, and the bookkeeping of windows already read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import partition_values, read_partitions

# How long the sync trusts "this device has no external probe" before asking again.
CAPABILITY_RECHECK = timedelta(days=7)


def current_trips(lake_dir: Path) -> pd.DataFrame:
    """One row per trip: the latest state any sync fetched (trips sync incrementally, so a
    trip's newest row may sit in an older snapshot)."""
    values = partition_values(lake_dir, schemas.TRIPS)
    frame: pd.DataFrame = read_partitions(lake_dir, schemas.TRIPS, values).to_pandas()
    if frame.empty:
        return frame
    frame = frame.sort_values("_fetched_at", kind="stable")
    latest: pd.DataFrame = frame.drop_duplicates("userDeviceTripId", keep="last")
    return latest.reset_index(drop=True)


def days_between(start: datetime, end: datetime) -> list[str]:
    """Partition keys of the UTC days in ``[start, end)``."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while day < end:
        days.append(day.strftime("%Y-%m-%d"))
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class StoredWindow:
    """What the lake holds for one (trip, probe) over the synced days."""

    count: int = 0
    max_ts_ms: int | None = None
    known: bool = False  # every day of the window has been read before
    settled: bool = False  # ...and none of them can change any more


@dataclass
class LakeView:
    """Stored readings, rejects and window bookkeeping of the days a run covers."""

    readings: pd.DataFrame
    windows: pd.DataFrame
    rejects: pd.DataFrame
    lacks_external_probe: set[str] = field(default_factory=set)
    _counts: dict[tuple[int, int], tuple[int, int | None]] = field(default_factory=dict, repr=False)
    _days: dict[tuple[int, int], dict[str, bool]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Aggregated once: a run asks about thousands of windows. A window's rows are its
        # readings and its rejects that are not among them; its newest row may be either.
        columns = ["userDeviceTripId", "probeType", "ts"]
        only_rejected = self.rejects[~self.rejects["inReadings"].astype(bool)][columns]
        rows = pd.concat([self.readings[columns], only_rejected], ignore_index=True)
        if len(rows):
            rows = rows.assign(ts_ms=rows["ts"].astype("int64").where(rows["ts"].notna()))
            grouped = rows.groupby(["userDeviceTripId", "probeType"])["ts_ms"].agg(["size", "max"])
            for key, count, top in zip(grouped.index, grouped["size"], grouped["max"], strict=True):
                newest = None if pd.isna(top) else int(top)
                self._counts[(int(key[0]), int(key[1]))] = (int(count), newest)
        for trip, probe, day, settled in self.windows[
            ["userDeviceTripId", "probeType", "reading_date", "settled"]
        ].itertuples(index=False):
            self._days.setdefault((int(trip), int(probe)), {})[str(day)] = bool(settled)

    def stored(self, trip_id: int, probe_type: int, days: Iterable[str]) -> StoredWindow:
        count, top = self._counts.get((trip_id, probe_type), (0, None))
        state = self._days.get((trip_id, probe_type), {})
        wanted = list(days)
        known = bool(wanted) and all(day in state for day in wanted)
        return StoredWindow(
            count=count,
            max_ts_ms=top,
            known=known,
            settled=known and all(state[day] for day in wanted),
        )


def load_view(lake_dir: Path, days: list[str], now: datetime) -> LakeView:
    readings = _with_partition(lake_dir, schemas.READINGS, days)
    windows = _with_partition(lake_dir, schemas.READING_WINDOWS, days)
    rejects = _with_partition(lake_dir, schemas.REJECTED_READINGS, days)
    # Probe knowledge comes from any recent window, not only the synced days.
    recent = [
        d
        for d in partition_values(lake_dir, schemas.READING_WINDOWS)
        if d >= (now - CAPABILITY_RECHECK).strftime("%Y-%m-%d")
    ]
    history = _with_partition(lake_dir, schemas.READING_WINDOWS, sorted(set(recent) | set(days)))
    return LakeView(
        readings=readings,
        windows=windows,
        rejects=rejects,
        lacks_external_probe=_devices_without_external_probe(history, now),
    )


def _with_partition(lake_dir: Path, dataset: schemas.Dataset, days: list[str]) -> pd.DataFrame:
    frames = []
    for day in days:
        table = read_partitions(lake_dir, dataset, [day])
        frame = table.to_pandas()
        frame[dataset.partition_column] = day
        frames.append(frame)
    if not frames:
        empty: pd.DataFrame = dataset.schema.empty_table().to_pandas()
        empty[dataset.partition_column] = pd.Series(dtype="string")
        return empty
    combined: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return combined


def _devices_without_external_probe(windows: pd.DataFrame, now: datetime) -> set[str]:
    """Devices whose latest check, within the recheck period, found built-in readings and no
    external ones in the same trip and day."""
    if windows.empty:
        return set()
    fresh = windows[windows["checkedAt"] >= pd.Timestamp(now - CAPABILITY_RECHECK)]
    keys = ["userDeviceTripId", "reading_date"]
    builtin = fresh[(fresh["probeType"] == 0) & (fresh["rowCount"] > 0)][keys]
    external = fresh[fresh["probeType"] == 1].merge(builtin, on=keys)
    if external.empty:
        return set()
    latest = external.sort_values("checkedAt").drop_duplicates("deviceCode", keep="last")
    return set(latest[latest["rowCount"] == 0]["deviceCode"])
