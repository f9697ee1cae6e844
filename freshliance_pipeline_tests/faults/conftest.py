"""One small sandbox per worker, shared by the fault cases; each case switches its own faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from freshliance_pipeline_tests.faults.cases import Sandbox, start_sandbox


@pytest.fixture(scope="session")
def fault_sandbox() -> Iterator[Sandbox]:
    sandbox = start_sandbox(devices=5, days=3)
    try:
        yield sandbox
    finally:
        sandbox.stop()
