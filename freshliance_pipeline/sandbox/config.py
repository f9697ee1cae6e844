"""What decides a sandbox world, and the error for a trip id that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class UnknownTripError(LookupError):
    """No trip with that ``userDeviceTripId`` exists in the account (yet)."""


def _today_utc_ms() -> int:
    now = datetime.now(tz=UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp()) * 1000


@dataclass(frozen=True)
class FleetConfig:
    """What decides the world.

    ``days`` is the history before the anchor; ``anchor_ms`` None means today's 00:00 UTC, fixed
    when the config is constructed. ``interval_min`` fixes every trip's logging interval (None:
    the template's, 5 to 15 minutes). ``late_uploads`` False makes every reading visible as soon
    as it is recorded (no upload interval, no offline spells). Every trip status occurs from three
    devices up, every device model from five, a device offline at the anchor from four.

    ``bad_rows`` True (our assumption; :mod:`.bad_rows`) makes about half of the trips that ended
    at least ``MAX_LATE_MS`` plus a day before the anchor, with 40 readings or more on a probe,
    serve exactly one reading a client must not trust through ``tracker.tripData.pageProbeData``:
    ``ts`` in seconds (``ts_in_seconds``), 30 * 365 days early (``ts_before_2000``) or 400 days
    late (``ts_in_future``), ``temperature`` 6553.5 (``temperature_out_of_range``) or ``"--"``
    (``temperature_unreadable``), ``latitude`` 91.5 or ``longitude`` 181.25 on a GPS device
    (``latitude_out_of_range``, ``longitude_out_of_range``), or the reading after it served with
    its ``ts`` (``conflicting_duplicate``). Row counts, paging and row orders are unchanged, and
    the ground truth and webhook pushes keep the true values; ``Trip.bad_rows`` and
    ``Fleet.bad_rows`` list what was planted. False (the default) leaves the world untouched.
    """

    seed: int = 7
    devices: int = 12
    days: int = 30
    anchor_ms: int | None = None
    interval_min: int | None = None
    late_uploads: bool = True
    bad_rows: bool = False

    def __post_init__(self) -> None:
        if self.devices < 1 or self.days < 1:
            raise ValueError(f"need at least one device and one day, got {self}")
        if self.interval_min is not None and not 1 <= self.interval_min <= 24 * 60:
            raise ValueError(f"interval_min must be 1 to 1440 minutes, got {self.interval_min}")
        if self.anchor_ms is None:
            object.__setattr__(self, "anchor_ms", _today_utc_ms())

    @property
    def anchor(self) -> int:
        """The anchor as an int (always set once constructed)."""
        assert self.anchor_ms is not None
        return self.anchor_ms
