"""The loopback server: starts only when listening, stops cleanly, many times per process."""

from __future__ import annotations

import logging

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer
from freshliance_pipeline_tests.sandbox.conftest import ANCHOR_MS
from freshliance_pipeline_tests.sandbox.signed import SignedCaller


def small_fleet() -> Fleet:
    return Fleet(FleetConfig(devices=3, days=3, anchor_ms=ANCHOR_MS))


def user_info_code(server: SandboxServer, app_id: str, key: RSAPrivateKey) -> str:
    with httpx.Client() as client:
        caller = SignedCaller(client, server.url, app_id, key)
        return str(caller.call("tracker.userInfo.get")["code"])


def test_start_and_stop_many_times_in_one_process() -> None:
    for _ in range(5):
        with SandboxServer(small_fleet()) as server:
            app_id, key = server.new_app()

            assert server.running
            assert user_info_code(server, app_id, key) == "0"
        assert not server.running


def test_port_zero_resolves_to_a_listening_port_that_survives_a_restart() -> None:
    server = SandboxServer(small_fleet())
    with pytest.raises(RuntimeError):
        _ = server.url
    app_id, key = server.new_app()

    server.start()
    first_url = server.url
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(first_url, json={})
    server.start()
    try:
        assert server.url == first_url
        assert user_info_code(server, app_id, key) == "0"
    finally:
        server.stop()

    assert first_url.startswith("http://127.0.0.1:") and first_url.endswith("/api")


def test_new_app_defaults_to_a_27_digit_app_id() -> None:
    server = SandboxServer(small_fleet())

    app_id, key = server.new_app()
    named, _ = server.new_app("my-app")

    assert len(app_id) == 27 and app_id.isdigit()
    assert key.key_size == 2048
    assert app_id in server.registry and named == "my-app" and "my-app" in server.registry


def test_serving_logs_nothing_below_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), SandboxServer(small_fleet()) as server:
        app_id, key = server.new_app()
        user_info_code(server, app_id, key)

    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_the_admin_endpoint_sits_next_to_the_api() -> None:
    with SandboxServer(small_fleet()) as server:
        state = httpx.get(server.admin_url).json()

    assert server.admin_url == server.url.removesuffix("/api") + "/admin"
    assert state["fleet"]["devices"] == 3 and state["clock"]["now_ms"] == ANCHOR_MS
