"""Shared fixtures: a real sandbox gateway on loopback and an environment pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from freshliance_pipeline.api import signing
from freshliance_pipeline.sandbox import Fleet, FleetConfig, SandboxServer

# Keep test runs from phoning home and from touching a developer's own Dagster instance.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@dataclass(frozen=True)
class Gateway:
    server: SandboxServer
    app_id: str
    key: rsa.RSAPrivateKey

    @property
    def fleet(self) -> Fleet:
        return self.server.fleet

    @property
    def url(self) -> str:
        return self.server.url


def start_gateway(world: Fleet | FleetConfig, app_id: str = "test-app", **options: Any) -> Gateway:
    """A sandbox serving ``world`` on loopback, with an app registered under a fresh key;
    ``options`` go to :class:`SandboxServer` (quirks, faults, flow limit)."""
    fleet = world if isinstance(world, Fleet) else Fleet(world)
    server = SandboxServer(fleet, **options)
    server.start()
    key = signing.generate_private_key()
    server.register_app(app_id, signing.public_key_pem(key))
    return Gateway(server=server, app_id=app_id, key=key)


@contextmanager
def served(world: Fleet | FleetConfig, **options: Any) -> Iterator[Gateway]:
    gateway = start_gateway(world, **options)
    try:
        yield gateway
    finally:
        gateway.server.stop()


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    """A small fleet served for the whole session; tests must not change its clock."""
    with served(FleetConfig(seed=11, devices=6, days=10)) as gw:
        yield gw


def point_pipeline_at(
    monkeypatch: pytest.MonkeyPatch, gateway: Gateway, data_dir: Path, **extra: str
) -> Path:
    """Set the environment of a pipeline run against ``gateway`` writing to ``data_dir``."""
    monkeypatch.setenv("FRESHLIANCE_API_URL", gateway.url)
    monkeypatch.setenv("FRESHLIANCE_APP_ID", gateway.app_id)
    monkeypatch.setenv("FRESHLIANCE_PRIVATE_KEY", signing.private_key_pem(gateway.key))
    monkeypatch.delenv("FRESHLIANCE_PRIVATE_KEY_FILE", raising=False)
    monkeypatch.setenv("FRESHLIANCE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRESHLIANCE_MAX_RPS", "0")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return data_dir


@pytest.fixture
def pipeline_env(gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment of a pipeline run against ``gateway`` with its own data folder."""
    return point_pipeline_at(monkeypatch, gateway, tmp_path / "data")
