"""Dagster resources: the signed gateway client and the lake's location on disk.

Secrets reach these only through the environment: ``definitions.py`` binds the key fields with
``dg.EnvVar``, so the Dagster UI shows the variable's name, never its value.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import dagster as dg
import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field

from freshliance_pipeline.api import signing
from freshliance_pipeline.api.client import DEFAULT_URL, FreshlianceClient, RetryPolicy, VerifyMode

DEFAULT_DATA_DIR = "data"
# The docs publish no rate limit (freshliance-api.md 9.10): stay well below any plausible one.
DEFAULT_MAX_RPS = 10.0


class FreshlianceResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Freshliance tracker gateway, reached with an appId and its RSA private key."""

    api_url: str = Field(default=DEFAULT_URL, description="Gateway endpoint (one POST URL).")
    app_id: str = Field(description="Application id issued by the platform (a string).")
    private_key: str | None = Field(
        default=None, description="RSA private key text: PEM (PKCS#1 or #8) or bare base64."
    )
    private_key_file: str | None = Field(
        default=None, description="Path to the private key, instead of private_key."
    )
    max_rps: float = Field(
        default=DEFAULT_MAX_RPS,
        description="Ceiling on requests per second sent to the gateway; 0 for none.",
    )
    platform_public_key: str | None = Field(
        default=None,
        description="Platform public key (PEM or bare base64): when set, response signatures "
        "are verified.",
    )
    verify_responses: str = Field(
        default="enforce",
        description="enforce: a response that does not verify fails the call; report: it is "
        "counted and logged.",
    )
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    retry_attempts: int = Field(
        default=RetryPolicy.attempts,
        description="Attempts of a call that fails for a passing reason (about a minute at 8).",
    )

    def load_private_key(self) -> rsa.RSAPrivateKey:
        if self.private_key:
            return signing.load_private_key(self.private_key)
        if self.private_key_file:
            path = Path(self.private_key_file).expanduser()
            if not path.is_file():
                raise signing.KeyFormatError(
                    f"FRESHLIANCE_PRIVATE_KEY_FILE names {path}, which is not a readable file"
                )
            return signing.load_private_key(path.read_text(encoding="utf-8"))
        raise signing.KeyFormatError(
            "no private key configured: set FRESHLIANCE_PRIVATE_KEY or FRESHLIANCE_PRIVATE_KEY_FILE"
        )

    @contextmanager
    def get_client(self) -> Iterator[FreshlianceClient]:
        timeout = httpx.Timeout(
            connect=self.connect_timeout_s, read=self.read_timeout_s, write=30.0, pool=10.0
        )
        with FreshlianceClient(
            app_id=self.app_id,
            private_key=self.load_private_key(),
            base_url=self.api_url,
            timeout=timeout,
            max_rps=self.max_rps,
            retry=RetryPolicy(attempts=max(1, self.retry_attempts)),
            platform_key=(
                signing.load_public_key(self.platform_public_key)
                if self.platform_public_key
                else None
            ),
            # Checked by the client, which names the variable when the value is neither.
            verify_responses=cast(VerifyMode, self.verify_responses),
        ) as client:
            yield client


class LakeResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the Parquet lake and the DuckDB files live (FRESHLIANCE_DATA_DIR)."""

    data_dir: str = Field(default=DEFAULT_DATA_DIR, description="Lake and DuckDB folder.")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def lake_dir(self) -> Path:
        return self.data_path / "lake"

    @property
    def warehouse_path(self) -> Path:
        return self.data_path / "warehouse.duckdb"

    @property
    def analytics_path(self) -> Path:
        return self.data_path / "analytics.duckdb"


def env_or_default(name: str, default: str) -> str | dg.EnvVar:
    """Bind to the variable when it is set, so runs read it late; else use the default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def env_or_none(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def freshliance_from_env() -> FreshlianceResource:
    max_rps = os.environ.get("FRESHLIANCE_MAX_RPS")
    read_timeout = os.environ.get("FRESHLIANCE_READ_TIMEOUT_S")
    attempts = os.environ.get("FRESHLIANCE_RETRY_ATTEMPTS")
    return FreshlianceResource(
        api_url=env_or_default("FRESHLIANCE_API_URL", DEFAULT_URL),
        app_id=dg.EnvVar("FRESHLIANCE_APP_ID"),
        private_key=env_or_none("FRESHLIANCE_PRIVATE_KEY"),
        private_key_file=env_or_none("FRESHLIANCE_PRIVATE_KEY_FILE"),
        max_rps=float(max_rps) if max_rps else DEFAULT_MAX_RPS,
        platform_public_key=env_or_none("FRESHLIANCE_PLATFORM_PUBLIC_KEY"),
        verify_responses=env_or_default("FRESHLIANCE_VERIFY_RESPONSES", "enforce"),
        read_timeout_s=float(read_timeout) if read_timeout else 60.0,
        retry_attempts=int(attempts) if attempts else RetryPolicy.attempts,
    )


def lake_from_env() -> LakeResource:
    return LakeResource(data_dir=os.environ.get("FRESHLIANCE_DATA_DIR") or DEFAULT_DATA_DIR)
