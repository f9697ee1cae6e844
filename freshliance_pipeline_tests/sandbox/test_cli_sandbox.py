"""``freshliance-pipeline sandbox`` as a script meets it: a process that writes its environment
once listening, serves the world it was asked for, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from click.testing import CliRunner

from freshliance_pipeline.api.signing import (
    load_private_key,
    load_public_key,
    string_to_sign,
    verify,
)
from freshliance_pipeline.cli import main
from freshliance_pipeline.sandbox.options import QUIRK_FLAGS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller

COMMAND = "from freshliance_pipeline.cli import main; main()"


@contextmanager
def sandbox_process(tmp_path: Path, *args: str) -> Iterator[tuple[dict[str, str], Path]]:
    env_file = tmp_path / "sandbox.env"
    log = tmp_path / "sandbox.log"
    environ = {**os.environ, "FRESHLIANCE_DATA_DIR": str(tmp_path / "data")}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", COMMAND, "sandbox", "--env-file", str(env_file), *args],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not env_file.exists():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the env file never appeared"
                time.sleep(0.05)
            lines = env_file.read_text().splitlines()
            yield dict(line.split("=", 1) for line in lines), log
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()


def test_a_frozen_signed_sandbox_serves_the_world_asked_for(tmp_path: Path) -> None:
    args = ("--devices", "4", "--days", "3", "--interval-min", "10", "--seed", "3")
    with sandbox_process(tmp_path, *args, "--clock", "frozen", "--quirk", "sign-responses") as (
        env,
        log,
    ):
        key = load_private_key(Path(env["FRESHLIANCE_PRIVATE_KEY_FILE"]).read_text())
        with httpx.Client(timeout=10) as client:
            caller = SignedCaller(
                client, env["FRESHLIANCE_API_URL"], env["FRESHLIANCE_APP_ID"], key
            )
            envelope = caller.call("tracker.userInfo.get")
            state = client.get(env["FRESHLIANCE_SANDBOX_ADMIN_URL"]).json()
        printed = log.read_text()

    assert set(env) == {
        "FRESHLIANCE_API_URL",
        "FRESHLIANCE_APP_ID",
        "FRESHLIANCE_PRIVATE_KEY_FILE",
        "FRESHLIANCE_SANDBOX_ADMIN_URL",
        "FRESHLIANCE_PLATFORM_PUBLIC_KEY",
    }
    assert env["FRESHLIANCE_API_URL"].startswith("http://127.0.0.1:")
    platform = load_public_key(env["FRESHLIANCE_PLATFORM_PUBLIC_KEY"])
    unsigned = {k: v for k, v in envelope.items() if k != "sign"}
    assert envelope["code"] == "0" and verify(string_to_sign(unsigned), envelope["sign"], platform)
    assert state["fleet"]["devices"] == 4 and state["fleet"]["interval_min"] == 10
    assert state["clock"]["mode"] == "frozen"
    assert state["clock"]["now_ms"] == state["fleet"]["anchor_ms"]
    assert state["quirks"]["sign_responses"] is True
    for name, value in env.items():
        assert f"export {name}={value}" in printed


def test_the_default_clock_is_real_time_and_faults_come_from_the_command_line(
    tmp_path: Path,
) -> None:
    with sandbox_process(
        tmp_path, "--devices", "3", "--days", "2", "--fault", "http-503:0.5:2", "--flow-limit", "50"
    ) as (env, _):
        state = httpx.get(env["FRESHLIANCE_SANDBOX_ADMIN_URL"], timeout=10).json()

    assert state["clock"]["mode"] == "real"
    assert state["clock"]["now_ms"] > state["fleet"]["anchor_ms"]
    assert state["faults"]["rules"] == [
        {"kind": "http-503", "rate": 0.5, "burst": 2, "methods": []}
    ]
    assert state["flow_limit"] == {"rps": 50.0, "burst": 50}


def test_bad_switches_are_usage_errors_and_the_quirk_names_match_the_sandbox() -> None:
    runner = CliRunner()

    unknown_fault = runner.invoke(main, ["sandbox", "--fault", "meteor:0.1"])
    bad_limit = runner.invoke(main, ["sandbox", "--flow-limit", "fast"])
    help_text = runner.invoke(main, ["sandbox", "--help"]).output

    assert unknown_fault.exit_code == 2 and "unknown fault" in unknown_fault.output
    assert bad_limit.exit_code == 2 and "RPS[:BURST]" in bad_limit.output
    for name in QUIRK_FLAGS:
        assert name in help_text
