"""A signed client for the Freshliance tracker gateway, built on httpx.

Wire choices (freshliance-api.md sections 2, 3 and 9; DESIGN.md wire rules):

- one ``POST`` of a JSON envelope per call: ``appId`` (always a string), ``method``,
  ``format=JSON``, ``charset=UTF-8``, ``signType=RSA2``, ``timestamp`` (epoch ms as a string),
  ``version=1.0``, ``bizContent`` and ``sign``;
- ``bizContent`` is sent as the exact compact JSON text that was signed, and left out for
  methods without business parameters (``tracker.userInfo.get``);
- ``code`` is compared as a string (a number is accepted too) and ``data`` is parsed whether
  it arrives as an object or as JSON text;
- transport errors, HTTP 5xx, bodies that are not the envelope and codes 10000, 60000 and 99999
  are retried with capped exponential backoff and jitter, for about a minute (60000 for up to
  five); 20000, 30000, 40000 and 50000 fail at once with a message that names the likely cause.

The client never logs keys, signatures or signed strings; at DEBUG it logs the method, the
page number, the HTTP status and the time taken.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal, Self

import httpx
import tenacity
from cryptography.hazmat.primitives.asymmetric import rsa

from freshliance_pipeline.api import errors, signing
from freshliance_pipeline.api.pages import (
    MAX_PAGE_SIZE,
    Page,
    PageShapeError,
    iter_pages,
    parse_page,
)
from freshliance_pipeline.api.ratelimit import TokenBucket

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://api.freshliance.com/api"
VerifyMode = Literal["enforce", "report"]
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a call that failed for a reason worth retrying.

    The defaults wait 0.5, 1, 2, 4, 8, 16 and 30 s (plus up to ``initial_wait_s`` of jitter each)
    between 8 attempts: a gateway that is unavailable for a minute costs retries, not the run.
    """

    attempts: int = 8
    initial_wait_s: float = 0.5
    max_wait_s: float = 30.0
    # Flow-limit answers (60000) are waited out for this long, however many attempts it takes:
    # the bucket slows down meanwhile, and a sync should finish rather than fail.
    throttled_for_s: float = 300.0


@dataclass
class CallStats:
    """What a client spent: every HTTP attempt is a call, retries included."""

    calls: Counter[str] = field(default_factory=Counter)
    pages: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    unverified: int = 0
    # Window fetches run on several threads against one client.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, method: str, *, calls: int = 0, pages: int = 0, rows: int = 0) -> None:
        with self.lock:
            self.calls[method] += calls
            self.pages[method] += pages
            self.rows[method] += rows

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.total_calls,
            "api_calls_by_method": dict(sorted(self.calls.items())),
            "api_rows_by_method": dict(sorted(self.rows.items())),
            "api_retries": self.retries,
            "api_throttled": self.throttled,
            "api_responses_unverified": self.unverified,
        }


def _should_retry(exc: BaseException) -> bool:
    if isinstance(exc, errors.HTTPStatusError):
        return exc.is_server_error
    return isinstance(exc, errors.FreshlianceError) and exc.retryable


class FreshlianceClient:
    """One client per run: holds one ``httpx.Client`` and the run's call accounting."""

    def __init__(
        self,
        *,
        app_id: str,
        private_key: rsa.RSAPrivateKey,
        base_url: str = DEFAULT_URL,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_rps: float | None = None,
        burst: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        platform_key: rsa.RSAPublicKey | None = None,
        verify_responses: VerifyMode = "enforce",
    ) -> None:
        if not app_id:
            raise ValueError("FRESHLIANCE_APP_ID is not set")
        self.app_id = str(app_id)
        self.url = base_url
        self._key = private_key
        self._retry = retry or RetryPolicy()
        self.bucket = TokenBucket(max_rps, burst, sleep=sleep)
        self._sleep = sleep
        # The wall clock that stamps requests (a parameter so a skewed machine can be staged).
        self._clock = clock
        self._platform_key = platform_key
        if verify_responses not in ("enforce", "report"):
            raise ValueError(
                f"FRESHLIANCE_VERIFY_RESPONSES must be enforce or report, not {verify_responses!r}"
            )
        self._verify_mode = verify_responses
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"Accept-Language": "en-US", "User-Agent": "freshliance-pipeline"},
        )
        self.stats = CallStats()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- one call -------------------------------------------------------------------------

    def call(self, method: str, biz: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` with business parameters ``biz`` and return the envelope's data."""
        retrying = tenacity.Retrying(
            stop=self._stop,
            # Jitter on top of the exponential step, not instead of it (full jitter can retry at
            # once, several times): concurrent fetches spread out and every wait still grows.
            wait=tenacity.wait_exponential_jitter(
                initial=self._retry.initial_wait_s,
                max=self._retry.max_wait_s,
                jitter=self._retry.initial_wait_s,
            ),
            retry=tenacity.retry_if_exception(_should_retry),
            before_sleep=self._before_retry,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._attempt, method, biz)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, errors.RateLimitedError):
            elapsed = state.seconds_since_start or 0.0
            return elapsed >= self._retry.throttled_for_s
        return state.attempt_number >= self._retry.attempts

    def _before_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        throttled = isinstance(exc, errors.RateLimitedError)
        with self.stats.lock:
            self.stats.retries += 1
            self.stats.throttled += int(throttled)
        if throttled:
            self.bucket.throttled()
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "retrying after failure attempt=%d wait_s=%.2f error=%s",
            state.attempt_number,
            wait,
            exc,
        )

    def envelope(self, method: str, biz: Mapping[str, Any] | None) -> dict[str, str]:
        """The signed request parameters, exactly as they are sent."""
        params: dict[str, str] = {
            "appId": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "UTF-8",
            "signType": "RSA2",
            "timestamp": str(int(self._clock() * 1000)),
            "version": "1.0",
        }
        if biz:
            params["bizContent"] = signing.canonical_json(dict(biz))
        params["sign"] = signing.sign_params(params, self._key)
        return params

    def _attempt(self, method: str, biz: Mapping[str, Any] | None) -> Any:
        self.bucket.acquire()
        body = json.dumps(self.envelope(method, biz), ensure_ascii=False).encode("utf-8")
        self.stats.count(method, calls=1)
        started = time.monotonic()
        try:
            response = self._http.post(
                self.url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as exc:
            raise errors.TransportError(
                f"{method}: no answer from {self.url}: {type(exc).__name__}: {exc}",
                method=method,
            ) from exc
        logger.debug(
            "call method=%s page=%s status=%d elapsed_ms=%.0f",
            method,
            (biz or {}).get("pageNum", "-"),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        envelope = decode_envelope(method, response.status_code, response.content)
        if self._platform_key is not None:
            self._verify(method, envelope)
        try:
            data = envelope_data(method, response.status_code, envelope)
        except errors.InvalidRequestError as exc:
            raise self._explained(exc, response) from None
        self.bucket.succeeded()
        return data

    def _verify(self, method: str, envelope: Mapping[str, Any]) -> None:
        """Check the response ``sign`` with the platform key (recipe: the request signature's,
        applied to the response's top-level fields; see the sandbox's quirks module)."""
        assert self._platform_key is not None
        signature = envelope.get("sign")
        valid = isinstance(signature, str) and signing.verify(
            signing.string_to_sign(envelope), signature, self._platform_key
        )
        if valid:
            return
        with self.stats.lock:
            self.stats.unverified += 1
        problem = "is unsigned" if not signature else "has a signature that does not verify"
        message = (
            f"{method}: the response {problem} with FRESHLIANCE_PLATFORM_PUBLIC_KEY "
            f"({signing.key_fingerprint(self._platform_key)})"
        )
        if self._verify_mode == "enforce":
            raise errors.ResponseSignatureError(message, method=method, http_status=200)
        logger.warning("%s; accepted because verification is in report mode", message)

    def _explained(
        self, exc: errors.InvalidRequestError, response: httpx.Response
    ) -> errors.InvalidRequestError:
        """Add what this side knows to the two rejections a user most often has to debug."""
        if exc.sub_code == "invalid-signature":
            exc.add_detail(f"this request was signed with key {signing.key_fingerprint(self._key)}")
        elif exc.sub_code == "invalid-timestamp":
            offset = clock_offset_s(response, self._clock)
            if offset is not None:
                exc.clock_offset_s = offset
                direction = "ahead of" if offset > 0 else "behind"
                exc.add_detail(
                    f"this machine's clock is {abs(offset):.0f} s {direction} the gateway's"
                )
        return exc

    # -- paging ---------------------------------------------------------------------------

    def pages(
        self, method: str, biz: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[Page]:
        """Every page of a ``*.page`` method, from page 1."""

        def fetch(page_num: int, size: int) -> Any:
            return self.call(method, {**(biz or {}), "pageNum": page_num, "pageSize": size})

        for page in iter_pages(fetch, page_size):
            self.stats.count(method, pages=1, rows=len(page.rows))
            yield page

    def fetch_all(
        self, method: str, biz: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        return self.fetch_listing(method, biz, page_size)[0]

    def fetch_listing(
        self, method: str, biz: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], int]:
        """Every row of a listing and the largest ``total`` any of its pages announced."""
        rows: list[dict[str, Any]] = []
        total = 0
        try:
            for page in self.pages(method, biz, page_size):
                rows.extend(page.rows)
                total = max(total, page.total)
        except PageShapeError as exc:
            raise errors.MalformedResponseError(
                f"{method}: unexpected page shape: {exc}", method=method
            ) from exc
        return rows, total

    # -- tracker methods ------------------------------------------------------------------

    def user_info(self) -> dict[str, Any]:
        data = self.call("tracker.userInfo.get")
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(
                "tracker.userInfo.get: data is not an object", method="tracker.userInfo.get"
            )
        return data

    def user_devices(self, device_code: str | None = None) -> list[dict[str, Any]]:
        return self.fetch_all("tracker.userDevice.page", _compact(deviceCode=device_code))

    def device_trips(
        self,
        *,
        trip_code: str | None = None,
        device_code: str | None = None,
        begin_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        biz = _compact(
            tripCode=trip_code, deviceCode=device_code, beginTime=begin_ms, endTime=end_ms
        )
        return self.fetch_all("tracker.deviceTrip.page", biz)

    def trip_probe_data(
        self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int
    ) -> list[dict[str, Any]]:
        """Readings of one trip and probe with ``begin_ms <= ts <= end_ms``."""
        biz = _window(trip_id, probe_type, begin_ms, end_ms)
        return self.fetch_all("tracker.tripData.pageProbeData", biz)

    def trip_probe_window(
        self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Like :meth:`trip_probe_data`, with the largest ``total`` seen while paging."""
        biz = _window(trip_id, probe_type, begin_ms, end_ms)
        return self.fetch_listing("tracker.tripData.pageProbeData", biz)

    def trip_probe_page(
        self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int, page_size: int = 50
    ) -> tuple[list[dict[str, Any]], int]:
        """The first page of a window and its ``total``: one call, one consistent answer."""
        biz = {
            **_window(trip_id, probe_type, begin_ms, end_ms),
            "pageNum": 1,
            "pageSize": page_size,
        }
        method = "tracker.tripData.pageProbeData"
        try:
            total, rows = parse_page(self.call(method, biz))
        except PageShapeError as exc:
            raise errors.MalformedResponseError(
                f"{method}: unexpected page shape: {exc}", method=method
            ) from exc
        self.stats.count(method, pages=1, rows=len(rows))
        return rows, total

    def count_probe_data(self, trip_id: int, probe_type: int, begin_ms: int, end_ms: int) -> int:
        """How many readings a window holds, for one call: a page of one row carries total."""
        return self.trip_probe_page(trip_id, probe_type, begin_ms, end_ms, page_size=1)[1]

    def device_groups(self) -> list[dict[str, Any]]:
        return self.fetch_all("tracker.deviceGroup.page")

    def group_devices(self, user_group_id: int) -> list[dict[str, Any]]:
        return self.fetch_all(
            "tracker.groupDevice.pageAllocatedDevice", {"userGroupId": user_group_id}
        )

    def config_templates(self, template_name: str | None = None) -> list[dict[str, Any]]:
        return self.fetch_all("tracker.configTemplate.page", _compact(templateName=template_name))


def _window(trip_id: int, probe_type: int, begin_ms: int, end_ms: int) -> dict[str, Any]:
    """Business parameters of one trip and probe between two times (both inclusive)."""
    return {
        "userDeviceTripId": trip_id,
        "probeType": probe_type,
        "beginTime": begin_ms,
        "endTime": end_ms,
    }


def _compact(**params: Any) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def parse_envelope(method: str, http_status: int, body: bytes) -> Any:
    """Return the ``data`` of a success envelope or raise the matching error."""
    return envelope_data(method, http_status, decode_envelope(method, http_status, body))


def decode_envelope(method: str, http_status: int, body: bytes) -> dict[str, Any]:
    """The response envelope as sent, or the error for a status or body that is not one."""
    if http_status != 200:
        hint = (
            "; check FRESHLIANCE_API_URL: it names the gateway's one endpoint, ending in /api"
            if http_status in (404, 405)
            else ""
        )
        raise errors.HTTPStatusError(
            f"{method}: HTTP {http_status} from the gateway{hint}",
            method=method,
            http_status=http_status,
        )
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.MalformedResponseError(
            f"{method}: the response body is not JSON ({len(body)} bytes)",
            method=method,
            http_status=http_status,
        ) from exc
    if not isinstance(envelope, dict) or "code" not in envelope:
        raise errors.MalformedResponseError(
            f"{method}: the response is not a gateway envelope (no code)",
            method=method,
            http_status=http_status,
        )
    return envelope


def envelope_data(method: str, http_status: int, envelope: Mapping[str, Any]) -> Any:
    """The ``data`` of a success envelope, or the typed error of a failure envelope."""
    code = str(envelope["code"]).strip()
    if code != "0":
        raise errors.gateway_error(
            method=method,
            code=code,
            msg=_text(envelope.get("msg")),
            sub_code=_text(envelope.get("subCode")),
            sub_msg=_text(envelope.get("subMsg")),
            http_status=http_status,
        )
    data = envelope.get("data")
    if isinstance(data, str):
        # The docs type data as String while every example sends an object: accept both.
        try:
            data = json.loads(data) if data.strip() else None
        except json.JSONDecodeError as exc:
            raise errors.MalformedResponseError(
                f"{method}: data is text but not JSON", method=method, http_status=http_status
            ) from exc
    return data


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def clock_offset_s(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """Seconds this machine's clock runs ahead of the server's, from the response's Date
    header (whole seconds, so only offsets of a few seconds and more are meaningful)."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return float(now() - server.timestamp())
