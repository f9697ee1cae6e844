"""The sandbox gateway: an ASGI app answering ``POST /api`` the way the Freshliance gateway does.

Documented behaviour (freshliance-api.md sections 2, 3 and 5): one endpoint, one ``method`` per
call; common parameters ``appId``, ``method``, ``format`` (JSON), ``charset`` (UTF-8),
``signType`` (RSA2), ``sign``, ``timestamp``, ``version`` (1.0) and ``bizContent``; the signature
is SHA256withRSA over every non-empty parameter except ``sign``, sorted by name and joined as
``k=v`` with ``&``; failures are answered with the error table's codes and texts.

Our assumptions where the docs are silent or contradict themselves:

* The body is parsed as JSON with exact integers, so ``appId`` may be a string or an unquoted
  number of any length (the docs print both, section 9 item 3); a number is rebuilt as its digits.
* ``bizContent`` may be the signed JSON string or an object; an object is signed as its
  canonical JSON (compact, keys sorted, UTF-8 unescaped), the form every doc example uses. It may
  be left out for methods without parameters. Every other top-level field enters the string to
  sign as sent, numbers as their JSON text.
* Checks run in this order and the first failure answers: body not a JSON object
  (invalid-format); missing ``method``, ``appId``, ``timestamp``, ``version``, ``signType``,
  ``sign`` (null and "" count as missing, as empty values are dropped before signing); unknown
  ``appId``; ``signType`` not ``RSA2``; ``format`` not ``JSON``; ``charset`` not ``UTF-8``
  (both may be left out, as some doc examples do, and are compared case-sensitively);
  ``version`` not ``1.0`` (invalid-parameter); ``timestamp`` not epoch-millisecond digits or
  more than ``max_skew_ms`` (10 minutes, a common gateway default; the docs give none) from
  the real wall clock; signature; unknown ``method``; then the method's business parameters.
* Every answer is HTTP 200; responses are not signed yet (``response_signer`` is the seam).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from freshliance_pipeline.api.signing import canonical_json, load_public_key, string_to_sign, verify
from freshliance_pipeline.sandbox.envelope import (
    GatewayError,
    invalid_parameter,
    parameter_error,
    success,
)
from freshliance_pipeline.sandbox.fleet import Fleet
from freshliance_pipeline.sandbox.methods import METHODS

logger = logging.getLogger(__name__)

DEFAULT_MAX_SKEW_MS = 600_000

_REQUIRED = (
    ("method", "missing-method"),
    ("appId", "missing-appId"),
    ("timestamp", "missing-timestamp"),
    ("version", "missing-version"),
    ("signType", "missing-signature-type"),
    ("sign", "missing-signature"),
)
_EPOCH_MS = re.compile(r"[0-9]{1,19}")

ResponseSigner = Callable[[Mapping[str, Any]], str]


class AppRegistry:
    """The applications the gateway knows: appId (an opaque string) to RSA public key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}

    def register(self, app_id: str, public_key_pem: str) -> None:
        """Accept requests signed by the private half of ``public_key_pem`` for ``app_id``."""
        if not isinstance(app_id, str) or not app_id:
            raise ValueError("appId must be a non-empty string")
        key = load_public_key(public_key_pem)
        with self._lock:
            self._keys[app_id] = key

    def unregister(self, app_id: str) -> None:
        with self._lock:
            self._keys.pop(app_id, None)

    def public_key(self, app_id: str) -> RSAPublicKey | None:
        with self._lock:
            return self._keys.get(app_id)

    def __contains__(self, app_id: object) -> bool:
        with self._lock:
            return app_id in self._keys


class RequestCounts(Mapping[str, int]):
    """Requests answered, by method name, with per-appId and per-code breakdowns.

    Every request whose body was read is counted, rejected ones included (under "" when the
    method or appId is missing). Like ``collections.Counter``, an unseen method reads as 0.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_method: Counter[str] = Counter()
        self._by_app: dict[str, Counter[str]] = {}
        self._by_code: Counter[str] = Counter()

    def record(self, app_id: str, method: str, code: str) -> None:
        with self._lock:
            self._by_method[method] += 1
            self._by_app.setdefault(app_id, Counter())[method] += 1
            self._by_code[code] += 1

    def __getitem__(self, method: str) -> int:
        with self._lock:
            return self._by_method.get(method, 0)

    def __contains__(self, method: object) -> bool:
        with self._lock:
            return method in self._by_method

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._by_method))

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_method)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._by_method.values())

    def for_app(self, app_id: str) -> dict[str, int]:
        """Requests of one appId, by method."""
        with self._lock:
            return dict(self._by_app.get(app_id, {}))

    def by_code(self) -> dict[str, int]:
        """Requests by response ``code`` ("0", "40000", ...)."""
        with self._lock:
            return dict(self._by_code)

    def reset(self) -> None:
        with self._lock:
            self._by_method.clear()
            self._by_app.clear()
            self._by_code.clear()


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _wire_text(value: Any) -> str:
    """A parameter as it enters the string to sign; "" for null, which signing drops."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return canonical_json(value)
    # Numbers and booleans as their JSON text; json keeps big ints exact, so appId keeps its digits.
    return json.dumps(value)


class Gateway:
    """The protocol logic behind the HTTP route, callable without a server."""

    def __init__(
        self,
        fleet: Fleet,
        registry: AppRegistry,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
        counts: RequestCounts | None = None,
        wall_clock_ms: Callable[[], int] = _wall_clock_ms,
        response_signer: ResponseSigner | None = None,
    ) -> None:
        self.fleet = fleet
        self.registry = registry
        self.max_skew_ms = max_skew_ms
        self.counts = counts if counts is not None else RequestCounts()
        self._wall_clock_ms = wall_clock_ms
        self._response_signer = response_signer

    def handle(self, body: bytes) -> dict[str, Any]:
        """The envelope answering one request body."""
        request: dict[str, Any] = {}
        try:
            request = _parse_body(body)
            method, biz = self._authenticate(request)
            envelope = success(METHODS[method](self.fleet, biz))
        except GatewayError as error:
            envelope = error.envelope()
        app_id, method_name = _wire_text(request.get("appId")), _wire_text(request.get("method"))
        self.counts.record(app_id, method_name, envelope["code"])
        logger.debug("request method=%s code=%s", method_name, envelope["code"])
        if self._response_signer is not None:
            envelope["sign"] = self._response_signer(envelope)
        return envelope

    def _authenticate(self, request: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        params = {name: _wire_text(value) for name, value in request.items()}
        for name, sub_code in _REQUIRED:
            if not params.get(name):
                raise parameter_error(sub_code)
        key = self.registry.public_key(params["appId"])
        if key is None:
            raise parameter_error("invalid-appId")
        if params["signType"] != "RSA2":
            raise parameter_error("invalid-signature-type")
        if params.get("format", "JSON") not in ("", "JSON"):
            raise parameter_error("invalid-format")
        if params.get("charset", "UTF-8") not in ("", "UTF-8"):
            raise parameter_error("invalid-charset")
        if params["version"] != "1.0":
            raise invalid_parameter("version must be 1.0")
        self._check_timestamp(params["timestamp"])
        if not verify(string_to_sign(params), params["sign"], key):
            raise parameter_error("invalid-signature")
        method = params["method"]
        if method not in METHODS:
            raise parameter_error("invalid-method")
        return method, _biz_content(request.get("bizContent"))

    def _check_timestamp(self, text: str) -> None:
        if not _EPOCH_MS.fullmatch(text):
            raise parameter_error("invalid-timestamp")
        if abs(int(text) - self._wall_clock_ms()) > self.max_skew_ms:
            raise parameter_error("invalid-timestamp")


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:  # also covers bytes that are not UTF-8
        raise parameter_error("invalid-format") from None
    if not isinstance(parsed, dict):
        raise parameter_error("invalid-format")
    return parsed


def _biz_content(raw: Any) -> Mapping[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise invalid_parameter("bizContent is not valid JSON") from None
    if not isinstance(raw, dict):
        raise invalid_parameter("bizContent must be a JSON object")
    return raw


def create_app(
    fleet: Fleet,
    registry: AppRegistry,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    *,
    counts: RequestCounts | None = None,
    response_signer: ResponseSigner | None = None,
) -> Starlette:
    """The ASGI app serving ``POST /api``; ``app.state.gateway`` exposes its counters."""
    gateway = Gateway(fleet, registry, max_skew_ms, counts=counts, response_signer=response_signer)

    async def api(request: Request) -> Response:
        # The work per request is a signature check and at most 50 computed rows: cheap enough
        # to run on the event loop without a thread hop.
        return JSONResponse(gateway.handle(await request.body()))

    app = Starlette(routes=[Route("/api", api, methods=["POST"])])
    app.state.gateway = gateway
    return app
