"""Incremental sync of trip readings: every reading once, at close to the ideal call count.

For the days a run covers, each trip that overlaps them has one window per probe (merged
across the days). What happens to a window depends on what the lake already knows:

- never read: fetched whole, 50 rows a call;
- settled (its trip ended at least ``settle`` ago and a check after that found nothing new):
  left alone, no call;
- otherwise: one call with ``pageSize`` 1 gives the gateway's count. Equal to the stored count:
  nothing to do. Higher: only the part after the newest stored reading is fetched, and if that
  does not account for the difference (an upload filled a hole) the window is fetched whole.

Devices whose windows show built-in readings and no external-probe readings are not asked for
external-probe data again for a week. A window whose paging came back with fewer rows than its
``total`` (data arriving while paging, rows in no particular order) is read again and the rows
merged by reading time, so nothing is lost and nothing doubled.

Every row is screened (:func:`freshliance_pipeline.normalize.screen_readings`): rows that cannot
be trusted go to ``rejected/readings`` with their reasons. A window's stored count is its rows in
``readings`` plus its rejects that are not there, so a window with rejects still matches the
gateway's count and costs one probe when nothing changed.

Each day's partition is rewritten only when its content changed, atomically; a day's rejects are
written before its readings and the window bookkeeping last, so a run killed in between leaves
counts that differ from the gateway's and the next run reads the window again.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from freshliance_pipeline import normalize
from freshliance_pipeline.api.client import FreshlianceClient
from freshliance_pipeline.api.signing import canonical_json
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import to_table, write_partition
from freshliance_pipeline.sync.lake_state import LakeView, StoredWindow, days_between, load_view
from freshliance_pipeline.windows import PROBE_TYPES, TripWindow, plan_trip_windows, to_ms

logger = logging.getLogger(__name__)

PAGE = 50
# Rows aimed at per slice when a window is re-read in time slices: headroom under a page of 50.
SLICE_ROWS = 40
KEYS = ["userDeviceTripId", "probeType", "ts"]
REJECT_KEYS = ["userDeviceTripId", "probeType", "reading_date", "rawRow"]


@dataclass(frozen=True)
class SyncSettings:
    # An ended trip's windows are checked until this long after its end, for late uploads.
    settle: timedelta = timedelta(hours=24)
    concurrency: int = 4
    # Re-fetch every window whatever the lake holds ("re-sync this shipment").
    force: bool = False


@dataclass(frozen=True)
class Window:
    trip: TripWindow
    probe_type: int
    trip_ended_ms: int | None
    days: tuple[str, ...]


@dataclass
class Outcome:
    window: Window
    action: str  # fetched | appended | unchanged | settled | skipped
    rows: list[dict[str, Any]] = field(default_factory=list)
    checked: bool = True
    # Where the fetched rows begin: the window's begin, or just after the newest stored row
    # for a tail fetch (a row before that is not one the tail asked for).
    begin_ms: int | None = None


@dataclass
class ReadingsReport:
    actions: Counter[str] = field(default_factory=Counter)
    rows_fetched: int = 0
    rows_new: int = 0
    rows_unchanged: int = 0
    rows_total: int = 0
    ideal_calls: int = 0
    rows_rejected: int = 0
    partitions_written: list[str] = field(default_factory=list)
    # Per day of the run: (rejected rows, rows the gateway served for the day).
    rejected_by_day: dict[str, tuple[int, int]] = field(default_factory=dict)
    rejected_reasons: Counter[str] = field(default_factory=Counter)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "windows_by_action": dict(sorted(self.actions.items())),
            "rows_fetched": self.rows_fetched,
            "rows_new": self.rows_new,
            "rows_unchanged": self.rows_unchanged,
            "rows_rejected": self.rows_rejected,
            "dagster/row_count": self.rows_total,
            "ideal_data_calls": self.ideal_calls,
            "partitions_written": len(self.partitions_written),
        }


def sync_readings(
    client: FreshlianceClient,
    lake_dir: Path,
    trips: Iterable[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    now: datetime,
    settings: SyncSettings | None = None,
) -> ReadingsReport:
    """Bring the readings partitions of ``[start, end)`` up to date with the gateway."""
    settings = settings or SyncSettings()
    days = days_between(start, end)
    view = load_view(lake_dir, days, now)
    start_ms, end_ms, now_ms = _ms(start), _ms(end), _ms(now)
    trip_rows = list(trips)
    ended = {int(t["userDeviceTripId"]): to_ms(t.get("actualEndTime")) for t in trip_rows}
    plan = plan_trip_windows(trip_rows, start_ms, end_ms, now_ms)

    by_device: dict[str, list[Window]] = {}
    for trip in plan:
        trip_days = tuple(days_between(_dt(trip.begin_ms), _dt(trip.end_ms + 1)))
        for probe_type in PROBE_TYPES:
            window = Window(trip, probe_type, ended.get(trip.trip_id), trip_days)
            by_device.setdefault(trip.device_code, []).append(window)

    # The run fails with the first error a fetch gives up on; the other fetches stop at their
    # next window rather than spend their own retries against the same failing gateway.
    failed = threading.Event()

    def run_device(windows: list[Window]) -> list[Outcome]:
        try:
            return _sync_device(client, view, windows, settings, now_ms, failed)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
        batches = list(pool.map(run_device, by_device.values()))
    outcomes = [o for batch in batches for o in batch]

    report = ReadingsReport()
    screened = {o.window: _screen(o, now, now_ms) for o in outcomes if o.action in _WRITES}
    final = _merge(view.readings, outcomes, {w: kept for w, (kept, _) in screened.items()})
    rejects = _merge_rejects(view.rejects, outcomes, [r for _, r in screened.values()])
    report.rows_rejected = sum(len(r) for _, r in screened.values())
    _write_rejects(lake_dir, days, view, rejects)
    _write(lake_dir, days, view, final, report)
    _write_state(lake_dir, days, view, final, rejects, outcomes, now, settings)

    for outcome in outcomes:
        report.actions[outcome.action] += 1
        report.rows_fetched += len(outcome.rows)
        if outcome.action != "skipped":
            w = outcome.window
            count = _count(final, rejects, w.trip.trip_id, w.probe_type)
            report.ideal_calls += math.ceil(count / PAGE)
    for day in days:
        day_rejects = rejects[rejects["reading_date"] == day]
        served = int((final["reading_date"] == day).sum()) + int((~day_rejects["inReadings"]).sum())
        report.rejected_by_day[day] = (len(day_rejects), served)
        for reasons in day_rejects["reason"]:
            report.rejected_reasons.update(str(reasons).split("; "))
    report.rows_total = len(final)
    return report


_WRITES = ("fetched", "appended")


def _sync_device(
    client: FreshlianceClient,
    view: LakeView,
    windows: list[Window],
    settings: SyncSettings,
    now_ms: int,
    failed: threading.Event,
) -> list[Outcome]:
    """One device's windows in trip order, so what one trip shows about the device's probes
    spares calls on the next. Stops early once another device's fetch has failed the run."""
    lacks_external = windows[0].trip.device_code in view.lacks_external_probe
    outcomes: list[Outcome] = []
    builtin_rows: dict[int, int] = {}
    for window in sorted(windows, key=lambda w: (w.trip.begin_ms, w.probe_type)):
        if failed.is_set():
            break
        if window.probe_type == 1 and lacks_external and not settings.force:
            outcomes.append(Outcome(window, "skipped", checked=False))
            continue
        stored = view.stored(window.trip.trip_id, window.probe_type, window.days)
        outcome = _sync_window(client, window, stored, settings)
        outcomes.append(outcome)
        total = stored.count + len(outcome.rows) if outcome.action == "appended" else None
        seen = len(outcome.rows) if outcome.action == "fetched" else (total or stored.count)
        if window.probe_type == 0:
            builtin_rows[window.trip.trip_id] = seen
        elif seen == 0 and builtin_rows.get(window.trip.trip_id, 0) > 0:
            lacks_external = True
    return outcomes


def _sync_window(
    client: FreshlianceClient, window: Window, stored: StoredWindow, settings: SyncSettings
) -> Outcome:
    trip, probe = window.trip, window.probe_type
    if settings.force or not stored.known:
        return Outcome(window, "fetched", _read_whole(client, window))
    if stored.settled:
        return Outcome(window, "settled", checked=False)
    total = client.count_probe_data(trip.trip_id, probe, trip.begin_ms, trip.end_ms)
    if total == stored.count:
        return Outcome(window, "unchanged")
    if total > stored.count and stored.max_ts_ms is not None:
        tail_begin = stored.max_ts_ms + 1
        if tail_begin <= trip.end_ms:
            rows, _ = client.trip_probe_window(trip.trip_id, probe, tail_begin, trip.end_ms)
            tail = _distinct(rows)
            if stored.count + len(tail) == total:
                return Outcome(window, "appended", list(tail.values()), begin_ms=tail_begin)
    return Outcome(window, "fetched", _read_whole(client, window))


def _read_whole(client: FreshlianceClient, window: Window) -> list[dict[str, Any]]:
    """All rows of a window.

    Paging by offset is only consistent while the window does not change: rows arriving
    mid-paging, in an order that is not by time, can shift rows past the pages already read.
    When a pass comes back with fewer rows than ``total``, the window is read again in time
    slices small enough for one page each (a single page is one consistent answer), slices
    that still overflow being halved.
    """
    trip = window.trip
    rows, total = client.trip_probe_window(
        trip.trip_id, window.probe_type, trip.begin_ms, trip.end_ms
    )
    seen = _distinct(rows)
    if len(seen) >= total:
        return list(seen.values())
    logger.info(
        "window short trip=%d probe=%d rows=%d total=%d: reading it in slices",
        trip.trip_id,
        window.probe_type,
        len(seen),
        total,
    )
    slices = max(1, math.ceil(total / SLICE_ROWS))
    span = trip.end_ms - trip.begin_ms + 1
    bounds = [trip.begin_ms + span * i // slices for i in range(slices + 1)]
    pending = [(bounds[i], bounds[i + 1] - 1) for i in range(slices)]
    while pending:
        lo, hi = pending.pop()
        page, count = client.trip_probe_page(trip.trip_id, window.probe_type, lo, hi)
        if count <= len(page) or lo == hi:
            seen.update(_distinct(page))
            continue
        middle = lo + (hi - lo) // 2
        pending.extend([(lo, middle), (middle + 1, hi)])
    return list(seen.values())


def _distinct(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows by their content: a row read twice (pages shifting under a growing window) is one
    row, while two different rows with the same ts stay two, for the screen to reject."""
    return {canonical_json(row): row for row in rows}


def _screen(
    outcome: Outcome, fetched_at: datetime, now_ms: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One window's rows as readings and as rejects (these with their reading_date)."""
    window = outcome.window
    trip, probe = window.trip, window.probe_type
    begin_ms = trip.begin_ms if outcome.begin_ms is None else outcome.begin_ms
    screened = normalize.screen_readings(
        outcome.rows, begin_ms=begin_ms, end_ms=trip.end_ms, now_ms=now_ms
    )
    kept = normalize.readings(
        screened.kept,
        trip_id=trip.trip_id,
        device_code=trip.device_code,
        probe_type=probe,
        fetched_at=fetched_at,
    )
    rejects = normalize.rejected_readings(
        screened.rejects,
        trip_id=trip.trip_id,
        device_code=trip.device_code,
        probe_type=probe,
        fetched_at=fetched_at,
    )
    # A reject with no sound time is filed under the window's first day.
    rejects["reading_date"] = rejects["ts"].dt.strftime("%Y-%m-%d").fillna(window.days[0])
    return kept, rejects


def _merge(
    stored: pd.DataFrame, outcomes: list[Outcome], frames: dict[Window, pd.DataFrame]
) -> pd.DataFrame:
    """Stored rows, less what whole re-reads replace, plus what was fetched."""

    def span(w: Window) -> pd.Series:
        begin, end = pd.Timestamp(_dt(w.trip.begin_ms)), pd.Timestamp(_dt(w.trip.end_ms))
        return (stored["ts"] >= begin) & (stored["ts"] <= end)

    kept = stored[~_replaced(stored, outcomes, span)].drop(columns=["reading_date"])
    fetched = [frame for frame in frames.values() if len(frame)]
    merged = pd.concat([kept, *fetched], ignore_index=True) if fetched else kept
    merged = merged.drop_duplicates(subset=KEYS, keep="last").sort_values(KEYS)
    merged["reading_date"] = merged["ts"].dt.strftime("%Y-%m-%d")
    return merged.reset_index(drop=True)


def _merge_rejects(
    stored: pd.DataFrame, outcomes: list[Outcome], frames: list[pd.DataFrame]
) -> pd.DataFrame:
    """Stored rejects, less those of windows read again whole, plus the new ones."""
    kept = stored[~_replaced(stored, outcomes, lambda w: stored["reading_date"].isin(w.days))]
    found = [frame for frame in frames if len(frame)]
    merged = pd.concat([kept, *found], ignore_index=True) if found else kept
    merged = merged.drop_duplicates(subset=REJECT_KEYS, keep="last")
    return merged.sort_values([*REJECT_KEYS[:3], "ts", "rawRow"]).reset_index(drop=True)


def _replaced(
    stored: pd.DataFrame, outcomes: list[Outcome], span: Callable[[Window], pd.Series]
) -> pd.Series:
    """Which stored rows the windows read again whole replace: their trip's and probe's rows
    that ``span`` puts inside the window."""
    replaced = pd.Series(False, index=stored.index)
    for outcome in outcomes:
        if outcome.action == "fetched":
            w = outcome.window
            same = (stored["userDeviceTripId"] == w.trip.trip_id) & (
                stored["probeType"] == w.probe_type
            )
            replaced |= same & span(w)
    return replaced


def _write_rejects(lake_dir: Path, days: list[str], view: LakeView, rejects: pd.DataFrame) -> None:
    """Each day's rejects, written when they changed and also when empty and never written,
    so the warehouse always finds the dataset."""
    dataset = schemas.REJECTED_READINGS
    order = [(key, "ascending") for key in (*REJECT_KEYS[:2], "ts", "rawRow")]
    for day in days:
        before = view.rejects[view.rejects["reading_date"] == day].drop(columns="reading_date")
        after = rejects[rejects["reading_date"] == day].drop(columns="reading_date")
        table = to_table(after.reset_index(drop=True), dataset)
        exists = (lake_dir / dataset.name / f"reading_date={day}").exists()
        if exists and _same(to_table(before.reset_index(drop=True), dataset), table, order):
            continue
        write_partition(lake_dir, dataset, day, table)


def _write(
    lake_dir: Path,
    days: list[str],
    view: LakeView,
    final: pd.DataFrame,
    report: ReadingsReport,
) -> None:
    for day in days:
        before = view.readings[view.readings["reading_date"] == day].drop(columns="reading_date")
        after = final[final["reading_date"] == day].drop(columns="reading_date")
        old_keys, new_keys = _keys(before), _keys(after)
        report.rows_new += len(new_keys - old_keys)
        report.rows_unchanged += len(new_keys & old_keys)
        table = to_table(after.reset_index(drop=True), schemas.READINGS)
        exists = (lake_dir / schemas.READINGS.name / f"reading_date={day}").exists()
        if exists and _same(to_table(before.reset_index(drop=True), schemas.READINGS), table):
            continue
        write_partition(lake_dir, schemas.READINGS, day, table)
        report.partitions_written.append(day)


def _keys(frame: pd.DataFrame) -> set[tuple[int, int, int]]:
    return set(
        zip(
            frame["userDeviceTripId"].astype("int64"),
            frame["probeType"].astype("int64"),
            frame["ts"].astype("int64"),
            strict=True,
        )
    )


def _same(before: pa.Table, after: pa.Table, order: list[tuple[str, str]] | None = None) -> bool:
    """Equal rows, whenever they were fetched: an idle run must not rewrite a partition."""
    columns = [name for name in before.column_names if name != "_fetched_at"]
    order = order or [(key, "ascending") for key in KEYS]
    return bool(before.select(columns).sort_by(order).equals(after.select(columns).sort_by(order)))


def _write_state(
    lake_dir: Path,
    days: list[str],
    view: LakeView,
    final: pd.DataFrame,
    rejects: pd.DataFrame,
    outcomes: list[Outcome],
    now: datetime,
    settings: SyncSettings,
) -> None:
    """Record each checked window per day; a day's file is rewritten only when it changed."""
    now_ms = _ms(now)
    updates: dict[str, dict[tuple[int, int], dict[str, Any]]] = {day: {} for day in days}
    for outcome in outcomes:
        w = outcome.window
        if not outcome.checked:
            continue
        settled = w.trip_ended_ms is not None and now_ms >= w.trip_ended_ms + _td_ms(
            settings.settle
        )
        if outcome.action == "unchanged" and not settled:
            continue  # nothing new to record: keeps an idle run from writing anything
        for day in w.days:
            if day not in updates:
                continue
            count = _count(
                final[final["reading_date"] == day],
                rejects[rejects["reading_date"] == day],
                w.trip.trip_id,
                w.probe_type,
            )
            updates[day][(w.trip.trip_id, w.probe_type)] = {
                "userDeviceTripId": w.trip.trip_id,
                "deviceCode": w.trip.device_code,
                "probeType": w.probe_type,
                "rowCount": count,
                "checkedAt": pd.Timestamp(now),
                "settled": settled,
            }
    for day, changed in updates.items():
        if not changed:
            continue
        prior = view.windows[view.windows["reading_date"] == day].drop(columns="reading_date")
        rows: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()}
            for row in prior.to_dict("records")
            if (row["userDeviceTripId"], row["probeType"]) not in changed
        ]
        rows.extend(changed.values())
        frame = pd.DataFrame(rows, columns=[f.name for f in schemas.READING_WINDOWS.schema])
        frame["_fetched_at"] = pd.Timestamp(now)
        frame = frame.sort_values(["userDeviceTripId", "probeType"]).reset_index(drop=True)
        table = pa.Table.from_pandas(frame, schema=schemas.READING_WINDOWS.schema, safe=False)
        write_partition(lake_dir, schemas.READING_WINDOWS, day, table)


def _count(readings: pd.DataFrame, rejects: pd.DataFrame, trip_id: int, probe_type: int) -> int:
    """Rows the gateway served for a window: its readings and its rejects not among them."""
    stored = (readings["userDeviceTripId"] == trip_id) & (readings["probeType"] == probe_type)
    only_rejected = (
        (rejects["userDeviceTripId"] == trip_id)
        & (rejects["probeType"] == probe_type)
        & ~rejects["inReadings"].astype(bool)
    )
    return int(stored.sum()) + int(only_rejected.sum())


def _ms(value: datetime) -> int:
    ms = to_ms(value)
    assert ms is not None
    return ms


def _dt(ms: int) -> datetime:
    return pd.Timestamp(ms, unit="ms", tz="UTC").to_pydatetime()


def _td_ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)
