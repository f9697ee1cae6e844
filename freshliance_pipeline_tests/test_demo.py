"""The demo: a sandbox, a sync and a summary, the same on every run of the day."""

from pathlib import Path

import duckdb
import pytest

from freshliance_pipeline.demo import run_demo


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FRESHLIANCE_API_URL",
        "FRESHLIANCE_APP_ID",
        "FRESHLIANCE_PRIVATE_KEY",
        "FRESHLIANCE_PRIVATE_KEY_FILE",
        "DAGSTER_HOME",
    ):
        monkeypatch.delenv(name, raising=False)


def test_demo_twice_gives_identical_counts(tmp_path: Path, clean_env: None) -> None:
    data_dir = tmp_path / "data"

    first = run_demo(data_dir, days=2, devices=4)
    second = run_demo(data_dir, days=2, devices=4)

    assert first.outcome.success and second.outcome.success, second.outcome.errors
    assert first.counts["fct_readings"] > 0
    assert second.counts == first.counts
    # The readings' rejected share and each dbt test, as asset checks.
    assert second.outcome.checks["rejected_share_below_limit"][0]
    assert len(second.outcome.checks) > 100
    assert all(passed for passed, _ in second.outcome.checks.values())
    with duckdb.connect(str(second.analytics_path), read_only=True) as con:
        dupes = con.execute(
            "select count(*) - count(distinct (trip_id, probe_type, reading_at)) from fct_readings"
        ).fetchone()
    assert dupes == (0,)


def test_demo_refuses_a_folder_holding_other_data(tmp_path: Path, clean_env: None) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "lake" / "readings").mkdir(parents=True)

    with pytest.raises(RuntimeError, match="did not come from the sandbox"):
        run_demo(data_dir, days=1, devices=3)

    assert (data_dir / "lake" / "readings").is_dir()
