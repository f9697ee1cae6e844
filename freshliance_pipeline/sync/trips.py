"""Incremental sync of trips, keyed by ``userDeviceTripId``; the latest state wins.

The first sync lists every trip. Later ones list only trips whose actual span overlaps the
time since the previous sync, less a lookback (the gateway filters on actual begin and end),
which returns every trip that started, is recording or ended since then. Trips that have not
started yet are not in such a listing; a device whose latest trip (``userDeviceTripId`` on its
device row) is unknown is listed on its own, which finds them.

Rows go to the day's snapshot partition, one per trip and status, so a trip's status changes
stay in the lake's history.

NOTE: a trip still waiting to start is not re-listed until it starts or its device gets a new
trip, so edits to a waiting trip's goods or route show up only then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from freshliance_pipeline import normalize
from freshliance_pipeline.api.client import FreshlianceClient
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.writer import latest_partition, read_partition, to_table
from freshliance_pipeline.sync.lake_state import current_trips
from freshliance_pipeline.windows import to_ms

DEFAULT_LOOKBACK = timedelta(hours=24)
COMPARED = [f.name for f in schemas.TRIPS.schema if f.name != "_fetched_at"]


@dataclass
class TripsReport:
    mode: str
    listed: int
    new: int
    changed: int
    devices_listed: int
    lookback_hours: float
    # The days spanned by trips that ended in this sync: their readings are worth one more
    # complete check, which the trip-change sensor requests.
    ended_days: tuple[str, str] | None = None

    def as_metadata(self) -> dict[str, Any]:
        resync = (
            {"resync_start": self.ended_days[0], "resync_end": self.ended_days[1]}
            if self.ended_days
            else {}
        )
        return {
            **resync,
            "mode": self.mode,
            "trips_listed": self.listed,
            "trips_new": self.new,
            "trips_changed": self.changed,
            "devices_listed_alone": self.devices_listed,
            "lookback_hours": self.lookback_hours,
        }


def lookback_for(lake_dir: Path, configured: timedelta = DEFAULT_LOOKBACK) -> timedelta:
    """At least the longest upload interval of any configuration template: a trip that ended
    just before the last sync may only be reported after its device's next upload."""
    templates = latest_partition(lake_dir, schemas.CONFIG_TEMPLATES)
    longest = 0
    if templates is not None and templates.num_rows:
        values = [v for v in templates.column("activeTime").to_pylist() if v is not None]
        longest = max(values, default=0)
    return max(configured, timedelta(minutes=2 * longest))


def sync_trips(
    client: FreshlianceClient, lake_dir: Path, now: datetime, lookback: timedelta
) -> tuple[pd.DataFrame, TripsReport]:
    """Fetch new and changed trips; return today's partition content and what happened."""
    known = current_trips(lake_dir)
    devices_listed = 0
    if known.empty:
        rows = client.device_trips()
        mode = "full"
    else:
        since = known["_fetched_at"].max().to_pydatetime() - lookback
        rows = client.device_trips(begin_ms=to_ms(since), end_ms=to_ms(now))
        mode = "incremental"
        seen = set(known["userDeviceTripId"]) | {int(r["userDeviceTripId"]) for r in rows}
        devices = latest_partition(lake_dir, schemas.DEVICES)
        for device in devices.to_pylist() if devices is not None else []:
            latest = device.get("userDeviceTripId")
            if latest is not None and int(latest) not in seen:
                rows.extend(client.device_trips(device_code=str(device["deviceCode"])))
                devices_listed += 1
    fetched = normalize.trips(rows, now).drop_duplicates("userDeviceTripId", keep="last")

    new, changed = _compare(known, fetched)
    ended_days = _ended_days(known, fetched)
    today = read_partition(lake_dir, schemas.TRIPS, now.strftime("%Y-%m-%d"))
    earlier_today: pd.DataFrame = today.to_pandas() if today is not None else fetched.iloc[0:0]
    merged = pd.concat([earlier_today, fetched], ignore_index=True)
    merged = merged.drop_duplicates(["userDeviceTripId", "tripStatus"], keep="last")
    merged = merged.sort_values(["userDeviceTripId", "_fetched_at"]).reset_index(drop=True)
    report = TripsReport(
        mode=mode,
        listed=len(fetched),
        new=new,
        changed=changed,
        devices_listed=devices_listed,
        lookback_hours=lookback.total_seconds() / 3600,
        ended_days=ended_days,
    )
    return merged, report


def _compare(known: pd.DataFrame, fetched: pd.DataFrame) -> tuple[int, int]:
    if known.empty:
        return len(fetched), 0
    before = to_table(known[[*COMPARED, "_fetched_at"]], schemas.TRIPS).to_pylist()
    by_id = {row["userDeviceTripId"]: row for row in before}
    new = changed = 0
    for row in to_table(fetched, schemas.TRIPS).to_pylist():
        old = by_id.get(row["userDeviceTripId"])
        if old is None:
            new += 1
        elif any(old[name] != row[name] for name in COMPARED):
            changed += 1
    return new, changed


def _ended_days(known: pd.DataFrame, fetched: pd.DataFrame) -> tuple[str, str] | None:
    """First and last day of the trips that are ``end`` now and were not before."""
    was_ended = (
        set(known[known["tripStatus"] == "end"]["userDeviceTripId"]) if len(known) else set()
    )
    ended = fetched[
        (fetched["tripStatus"] == "end")
        & ~fetched["userDeviceTripId"].isin(was_ended)
        & fetched["actualBeginTime"].notna()
    ]
    if known.empty or ended.empty:
        return None
    first = ended["actualBeginTime"].min().strftime("%Y-%m-%d")
    last = ended["actualEndTime"].fillna(ended["actualBeginTime"]).max().strftime("%Y-%m-%d")
    return first, last
