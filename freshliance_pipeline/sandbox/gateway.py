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
* Every protocol answer is HTTP 200 (the docs show no HTTP error statuses); an appId with a
  flow limit is throttled (60000) right after it is recognised, before its signature is checked,
  as a gateway protects its own CPU; throttled calls still count.

On top of the protocol: wire quirks (:mod:`.quirks`, including the response signature) shape
every answer, and injected faults (:mod:`.faults`) replace some. ``Gateway.handle`` is the
protocol answer as a dict; ``Gateway.respond`` the full HTTP reply, faults included, that the
ASGI app (:mod:`.asgi`) sends.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from freshliance_pipeline.api.signing import (
    canonical_json,
    generate_private_key,
    load_public_key,
    public_key_pem,
    sign,
    string_to_sign,
    verify,
)
from freshliance_pipeline.sandbox.counts import RequestCounts
from freshliance_pipeline.sandbox.envelope import (
    GatewayError,
    invalid_parameter,
    parameter_error,
    success,
)
from freshliance_pipeline.sandbox.faults import (
    CODE_FAULTS,
    HTTP_FAULTS,
    NOT_JSON_BODY,
    FaultInjector,
    FaultPlan,
    FlowLimit,
    FlowLimiter,
    error_page,
)
from freshliance_pipeline.sandbox.fleet import Fleet
from freshliance_pipeline.sandbox.methods import METHODS
from freshliance_pipeline.sandbox.quirks import WireQuirks, shape

__all__ = ["AppRegistry", "Gateway", "Reply", "RequestCounts"]

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


@dataclass(frozen=True)
class Reply:
    """One HTTP answer and how to deliver it."""

    status: int
    body: bytes
    content_type: str = "application/json"
    delay_s: float = 0.0
    # Drop the connection (TCP reset) instead of answering.
    reset: bool = False
    # Send body[:pause_at], wait pause_s, then send the rest.
    pause_at: int | None = None
    pause_s: float = 0.0


def serialise(envelope: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, byte for byte what Starlette's JSONResponse writes."""
    return json.dumps(
        envelope, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


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
        *,
        quirks: WireQuirks | None = None,
        faults: FaultPlan | None = None,
        flow_limit: FlowLimit | None = None,
        platform_key: RSAPrivateKey | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fleet = fleet
        self.registry = registry
        self.max_skew_ms = max_skew_ms
        self.counts = counts if counts is not None else RequestCounts()
        self._wall_clock_ms = wall_clock_ms
        self._response_signer = response_signer
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._quirks = quirks if quirks is not None else WireQuirks()
        self._injector = FaultInjector(faults if faults is not None else FaultPlan())
        self._limiter = None if flow_limit is None else FlowLimiter(flow_limit, monotonic)
        self._platform_key = platform_key

    # -- settings (swapped whole, so a request sees one consistent set) --------------------

    @property
    def quirks(self) -> WireQuirks:
        return self._quirks

    @quirks.setter
    def quirks(self, quirks: WireQuirks) -> None:
        self._quirks = quirks

    @property
    def faults(self) -> FaultPlan:
        return self._injector.plan

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        """Install a plan; its script and draws start again from the next request."""
        self._injector = FaultInjector(plan)

    @property
    def flow_limit(self) -> FlowLimit | None:
        limiter = self._limiter
        return None if limiter is None else limiter.limit

    @flow_limit.setter
    def flow_limit(self, limit: FlowLimit | None) -> None:
        """Install a limit with full buckets (None: no limit)."""
        self._limiter = None if limit is None else FlowLimiter(limit, self._monotonic)

    @property
    def platform_key(self) -> RSAPrivateKey:
        """The key responses are signed with, made on first use."""
        with self._lock:
            if self._platform_key is None:
                self._platform_key = generate_private_key(2048)
            return self._platform_key

    def platform_public_key_pem(self) -> str:
        return public_key_pem(self.platform_key)

    # -- answering -------------------------------------------------------------------------

    def handle(self, body: bytes) -> dict[str, Any]:
        """The envelope answering one request body, shaped by the wire quirks (no faults)."""
        request, envelope = self._answer(body)
        self._count(request, str(envelope["code"]))
        return self._present(envelope)

    def respond(self, body: bytes) -> Reply:
        """The HTTP reply to one request body, injected faults included."""
        request, parse_error = _parse(body)
        decision = self._injector.decide(_wire_text(request.get("method")))
        kind, delay = decision.kind, decision.delay_s
        if kind is not None:
            self.counts.record_fault(kind)
        if kind in HTTP_FAULTS:
            self._count(request, kind)
            status = HTTP_FAULTS[kind]
            return Reply(status, error_page(status), "text/html", delay)
        if kind == "reset":
            self._count(request, kind)
            return Reply(0, b"", delay_s=delay, reset=True)
        if kind == "not-json":
            self._count(request, kind)
            return Reply(200, NOT_JSON_BODY, "text/html; charset=utf-8", delay)
        if kind in CODE_FAULTS:
            envelope = GatewayError(*CODE_FAULTS[kind]).envelope()
        elif parse_error is not None:
            envelope = parse_error.envelope()
        else:
            envelope = self._envelope(request)
        self._count(request, str(envelope["code"]))
        data = serialise(self._present(envelope))
        if kind == "truncated":
            return Reply(200, data[: len(data) // 2], delay_s=delay)
        if kind == "slow-body":
            pause = self.faults.slow_body_pause_ms / 1000.0
            return Reply(200, data, delay_s=delay, pause_at=len(data) // 2, pause_s=pause)
        return Reply(200, data, delay_s=delay)

    def _answer(self, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        request, parse_error = _parse(body)
        if parse_error is not None:
            return request, parse_error.envelope()
        return request, self._envelope(request)

    def _envelope(self, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            method, biz = self._authenticate(request)
            quirks = self._quirks
            if quirks.clock_tick_ms:
                self.fleet.clock.advance(quirks.clock_tick_ms)
            return success(METHODS[method](self.fleet, biz, quirks))
        except GatewayError as error:
            return error.envelope()

    def _count(self, request: Mapping[str, Any], code: str) -> None:
        app_id, method = _wire_text(request.get("appId")), _wire_text(request.get("method"))
        self.counts.record(app_id, method, code)
        logger.debug("request method=%s code=%s", method, code)

    def _present(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        quirks = self._quirks
        shaped = shape(envelope, quirks)
        if self._response_signer is not None:
            shaped["sign"] = self._response_signer(shaped)
        elif quirks.sign_responses:
            shaped["sign"] = sign(string_to_sign(shaped), self.platform_key)
        return shaped

    def _authenticate(self, request: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        params = {name: _wire_text(value) for name, value in request.items()}
        for name, sub_code in _REQUIRED:
            if not params.get(name):
                raise parameter_error(sub_code)
        key = self.registry.public_key(params["appId"])
        if key is None:
            raise parameter_error("invalid-appId")
        limiter = self._limiter
        if limiter is not None and not limiter.allow(params["appId"]):
            self.counts.record_throttled()
            raise GatewayError("60000", "request-call-limited")
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


def _parse(body: bytes) -> tuple[dict[str, Any], GatewayError | None]:
    try:
        return _parse_body(body), None
    except GatewayError as error:
        return {}, error


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
