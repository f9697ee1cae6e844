"""The command line: check against the sandbox, and keygen."""

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from freshliance_pipeline.api import signing
from freshliance_pipeline.cli import main
from freshliance_pipeline_tests.conftest import Gateway


def test_check_prints_the_accounts_email_and_time_zone(
    gateway: Gateway, pipeline_env: Path
) -> None:
    result = CliRunner().invoke(main, ["check"])

    info = gateway.fleet.user_info()
    assert result.exit_code == 0, result.output
    assert f"email: {info['email']}" in result.output
    assert f"timeZone: {info['timeZone']}" in result.output


def test_check_with_the_wrong_key_prints_the_gateways_code_and_what_to_fix(
    gateway: Gateway, pipeline_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = signing.private_key_pem(signing.generate_private_key())
    monkeypatch.setenv("FRESHLIANCE_PRIVATE_KEY", wrong)

    result = CliRunner().invoke(main, ["check"])

    assert result.exit_code == 1
    assert "code=40000 subCode=invalid-signature subMsg=Invalid signature" in result.output
    assert "does not match the public key" in result.output
    assert wrong.splitlines()[1] not in result.output


def test_check_with_an_unreadable_key_says_which_formats_work(
    pipeline_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHLIANCE_PRIVATE_KEY", "not-a-key")

    result = CliRunner().invoke(main, ["check"])

    assert result.exit_code == 1
    assert "Accepted formats" in result.output
    assert "not-a-key" not in result.output


def test_keygen_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    out = tmp_path / "key.pem"

    result = CliRunner().invoke(main, ["keygen", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = signing.load_private_key(out.read_text())
    assert signing.public_key_pem(key) in result.output
    assert out.read_text().splitlines()[1] not in result.output
    again = CliRunner().invoke(main, ["keygen", "--out", str(out)])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-22", "2026-11-20", "is before --start"),
        ("2020-01-01", "2020-01-02", "FRESHLIANCE_PARTITIONS_START"),
        ("2026-11-22", "2999-01-01", "is in the future"),
    ],
)
def test_sync_refuses_a_range_it_cannot_hold_and_says_why(
    pipeline_env: Path, start: str, end: str, message: str
) -> None:
    result = CliRunner().invoke(main, ["sync", "--start", start, "--end", end])

    assert result.exit_code == 2
    assert message in result.output
    assert not pipeline_env.exists()  # refused before anything ran or was created
    assert "syncing" not in result.output
