"""Property: for any window of any trip and probe, paging through the API in any page size from 1
to 50 returns exactly the ground truth's rows, with the wire quirks off and with all of them on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from freshliance_pipeline.api.signing import load_public_key, string_to_sign, verify
from freshliance_pipeline.sandbox import Clock, Fleet, FleetConfig, SandboxServer, WireQuirks
from freshliance_pipeline.sandbox.quirks import LONG_FIELDS
from freshliance_pipeline.sandbox.world import Trip
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

READINGS = "tracker.tripData.pageProbeData"
ALL_ON = WireQuirks(
    data_as_string=True,
    code_as_number=True,
    longs_as_strings=True,
    row_order="scrambled",
    sign_responses=True,
)
SENSORS = ("humidity", "longitude", "latitude", "light", "shock")


CONFIG = FleetConfig(seed=21, devices=8, days=10, anchor_ms=ANCHOR_MS)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Fleet(CONFIG, Clock(ANCHOR_MS))) as server:
        yield server


@pytest.fixture(scope="module")
def caller(server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, server.url, app_id, key)


def decoded_page(envelope: dict[str, Any], server: SandboxServer) -> dict[str, Any]:
    """The page as a client that copes with every quirk reads it."""
    if "sign" in envelope:
        unsigned = {k: v for k, v in envelope.items() if k != "sign"}
        public = load_public_key(server.gateway.platform_public_key_pem())
        assert verify(string_to_sign(unsigned), envelope["sign"], public)
    assert str(envelope["code"]) == "0", envelope
    data = envelope["data"]
    page: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
    page["rows"] = [
        {k: int(v) if k in LONG_FIELDS else v for k, v in row.items()} for row in page["rows"]
    ]
    return page


def paged(caller: SignedCaller, server: SandboxServer, biz: dict[str, Any], size: int) -> list[Any]:
    rows: list[Any] = []
    page_num = 1
    while True:
        envelope = caller.call(READINGS, {**biz, "pageNum": page_num, "pageSize": size})
        page = decoded_page(envelope, server)
        assert len(page["rows"]) <= size
        rows.extend(page["rows"])
        if len(page["rows"]) < size or len(rows) >= page["total"]:
            assert len(rows) == page["total"]
            return rows
        page_num += 1


def readable_trips(fleet: Fleet) -> list[tuple[Trip, int]]:
    return [
        (trip, probe)
        for trip in fleet.trips
        if trip.actual_begin_ms < ANCHOR_MS
        for probe in trip.probes
    ]


# The same world as the server's (a fleet is a pure function of its config and clock).
CHOICES = readable_trips(Fleet(CONFIG, Clock(ANCHOR_MS)))


@st.composite
def windows(draw: st.DrawFn) -> tuple[Trip, int, int, int, int]:
    trip, probe = draw(st.sampled_from(CHOICES))
    size = draw(st.integers(1, 50))
    step = trip.interval_ms
    span = trip.actual_end_ms - trip.actual_begin_ms
    # Start anywhere from a little before the trip to its end; stay within six pages.
    begin = trip.actual_begin_ms + draw(st.integers(-3 * step, span)) + draw(st.integers(0, 999))
    end = begin + draw(st.integers(0, 6 * size)) * step + draw(st.integers(-999, 999))
    return trip, probe, begin, max(begin, end), size


@pytest.mark.parametrize("quirks", [WireQuirks(), ALL_ON], ids=["plain", "every-quirk"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=windows())
def test_paging_any_window_returns_exactly_the_ground_truth(
    caller: SignedCaller,
    server: SandboxServer,
    quirks: WireQuirks,
    window: tuple[Trip, int, int, int, int],
) -> None:
    trip, probe, begin, end, size = window
    biz = {"userDeviceTripId": trip.trip_id, "probeType": probe}
    server.gateway.quirks = quirks
    try:
        rows = paged(caller, server, {**biz, "beginTime": begin, "endTime": end}, size)
    finally:
        server.gateway.quirks = WireQuirks()

    truth = server.fleet.ground_truth(begin, end, trip_id=trip.trip_id, probe_type=probe)
    expected = [
        {"ts": r["ts"], "temperature": r["temperature"]}
        | {name: r[name] for name in SENSORS if r[name] is not None}
        for r in truth
    ]
    event("empty window" if not expected else f"pages: {-(-len(expected) // size)}")
    assert sorted(rows, key=lambda row: row["ts"]) == expected
    if quirks.row_order == "time":
        assert rows == expected
