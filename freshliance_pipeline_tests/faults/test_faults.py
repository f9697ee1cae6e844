"""Each fault case, small: the sync either lands exactly the truth, or fails saying why and the
next run (faults off) lands exactly the truth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from freshliance_pipeline_tests.faults.cases import Case, Sandbox, run_case, suite_cases
from freshliance_pipeline_tests.truth import anchor_day


@pytest.mark.parametrize("case", suite_cases(), ids=lambda case: case.name.replace(" ", "-"))
def test_fault_case_ends_with_exactly_the_ground_truth(
    case: Case, fault_sandbox: Sandbox, tmp_path: Path
) -> None:
    anchor = anchor_day(fault_sandbox.fleet)
    start, end = anchor - timedelta(days=2), anchor - timedelta(days=1)
    if case.quirks.clock_tick_ms:
        end = anchor  # the day the ticking clock uploads into
    verdict = run_case(fault_sandbox, case, tmp_path / "data", start, end)

    assert not verdict.problems, verdict
    assert verdict.exact
    assert verdict.rows > 0
    if case.faults.rules:
        assert sum(verdict.faults.values()) > 0, "the plan injected no fault; raise its rate"
        if case.retried and verdict.outcome == "succeeded":
            assert verdict.retries > 0, "faults were met but nothing was retried"
