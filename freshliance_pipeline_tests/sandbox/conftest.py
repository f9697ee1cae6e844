"""Fixtures of the sandbox tests: a fixed-anchor fleet and a gateway serving it on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

# 2025-06-15 00:00 UTC: a fixed anchor keeps the fleet tests independent of the day they run.
ANCHOR_MS = 1_749_945_600_000


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """A default-size fleet; tests that move its clock build their own."""
    return Fleet(FleetConfig(anchor_ms=ANCHOR_MS))


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(Fleet(FleetConfig(anchor_ms=ANCHOR_MS))) as server:
        yield server


@pytest.fixture(scope="module")
def caller(sandbox_server: SandboxServer) -> Iterator[SignedCaller]:
    app_id, key = sandbox_server.new_app()
    with httpx.Client(timeout=10) as client:
        yield SignedCaller(client, sandbox_server.url, app_id, key)
