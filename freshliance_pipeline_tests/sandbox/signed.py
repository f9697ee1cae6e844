"""A minimal signed caller for the sandbox tests, independent of the project's API client.

It builds the documented request by hand so each test can break exactly one rule: drop a field,
change a value after signing, send ``bizContent`` as an object or ``appId`` as a bare number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from freshliance_pipeline.api.signing import canonical_json, sign_params

MINUTE_MS = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class SignedCaller:
    client: httpx.Client
    url: str
    app_id: str
    key: RSAPrivateKey

    def params(
        self,
        method: str,
        biz: Mapping[str, Any] | None = None,
        *,
        timestamp_ms: int | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The documented request with ``sign`` computed over it; overrides apply before signing."""
        params: dict[str, Any] = {
            "appId": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "UTF-8",
            "signType": "RSA2",
            "timestamp": str(now_ms() if timestamp_ms is None else timestamp_ms),
            "version": "1.0",
        }
        if biz is not None:
            params["bizContent"] = canonical_json(biz)
        params.update(overrides)
        params["sign"] = sign_params(params, self.key)
        return params

    def post_raw(self, body: Mapping[str, Any] | str | bytes) -> httpx.Response:
        content = body if isinstance(body, str | bytes) else json.dumps(body, ensure_ascii=False)
        return self.client.post(
            self.url, content=content, headers={"Content-Type": "application/json"}
        )

    def post(self, body: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
        response = self.post_raw(body)
        assert response.status_code == 200, response.text
        envelope: dict[str, Any] = response.json()
        return envelope

    def call(self, method: str, biz: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.post(self.params(method, biz))

    def data(self, method: str, biz: Mapping[str, Any] | None = None) -> Any:
        envelope = self.call(method, biz)
        assert envelope["code"] == "0", envelope
        return envelope["data"]

    def all_rows(self, method: str, biz: Mapping[str, Any], page_size: int) -> list[Any]:
        """Every row of a paged method, page after page until ``total`` is reached."""
        rows: list[Any] = []
        page_num = 1
        while True:
            data = self.data(method, {**biz, "pageNum": page_num, "pageSize": page_size})
            assert len(data["rows"]) <= page_size
            rows.extend(data["rows"])
            if not data["rows"] or len(rows) >= data["total"]:
                assert len(rows) == data["total"]
                return rows
            page_num += 1
