"""Faults on demand, at given rates or in a scripted sequence, and the per-app flow limit.

None of this is documented beyond the error codes themselves (freshliance-api.md section 5:
10000 service error, 60000 flow limit ``request-call-limited``, 99999 unknown error; no rate
limit numbers, section 9 item 10); how often and in which shape the platform fails is our
assumption, chosen to be what a client meets from any gateway behind a load balancer:

=================  ======================================================================
``code-10000``     HTTP 200, ``{"code": "10000", "subCode": "service-not-available", ...}``
``code-60000``     HTTP 200, ``{"code": "60000", "subCode": "request-call-limited", ...}``
``code-99999``     HTTP 200, ``{"code": "99999", "subCode": "unknown-error", ...}``
``http-500``       HTTP 500 / 502 / 503 with a proxy's HTML error page (``error_page``)
``http-502``
``http-503``
``reset``          the connection is reset (TCP RST) once the request has been read
``truncated``      HTTP 200, ``application/json``, only the first half of the real body
``not-json``       HTTP 200, an HTML maintenance page (``NOT_JSON_BODY``)
``slow-body``      HTTP 200, the real body, but its second half only after
                   ``slow_body_pause_ms``: a client whose read timeout is shorter gives up
=================  ======================================================================

A ``FaultPlan`` decides per request, in arrival order: the n-th request gets ``script[n]`` while
the script lasts (``None``: no fault), after that each rule starts a burst of ``burst`` requests
(of the rule's methods, or all) with probability ``rate``. Draws hash (seed, n), so a plan
replays identically for the same sequence of requests. Latency is ``fixed_ms`` plus a Pareto
tail of scale ``tail_ms`` (most requests get a little, a few get a lot), capped at ``max_ms``.

The flow limit is a token bucket per appId: ``burst`` tokens, refilled at ``rps`` per second of
real time; a request finding the bucket empty is answered 60000 ``request-call-limited``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from freshliance_pipeline.sandbox._noise import derive, unit

FaultKind = Literal[
    "code-10000",
    "code-60000",
    "code-99999",
    "http-500",
    "http-502",
    "http-503",
    "reset",
    "truncated",
    "not-json",
    "slow-body",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
CODE_FAULTS: dict[str, tuple[str, str]] = {
    "code-10000": ("10000", "service-not-available"),
    "code-60000": ("60000", "request-call-limited"),
    "code-99999": ("99999", "unknown-error"),
}
HTTP_FAULTS: dict[str, int] = {"http-500": 500, "http-502": 502, "http-503": 503}
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
}

NOT_JSON_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Freshliance</title></head><body>"
    b"<p>The system is under maintenance, please try again later.</p></body></html>\n"
)


def error_page(status: int) -> bytes:
    """The HTML an nginx in front of the gateway answers with."""
    title = f"{status} {_REASONS[status]}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode("ascii")


def fault_kind(value: Any) -> FaultKind:
    """``value`` as a fault kind, or ValueError naming the known ones."""
    if value not in FAULT_KINDS:
        raise ValueError(f"unknown fault {value!r}; known: {list(FAULT_KINDS)}")
    kind: FaultKind = value
    return kind


def _number(value: Any, name: str, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be within {low}..{high if high is not None else 'inf'}")
    return float(value)


@dataclass(frozen=True)
class FaultRule:
    kind: FaultKind
    rate: float = 0.0
    burst: int = 1
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        fault_kind(self.kind)
        _number(self.rate, "rate", 0.0, 1.0)
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"burst must be a positive integer, got {self.burst!r}")

    def applies_to(self, method: str) -> bool:
        return not self.methods or method in self.methods


@dataclass(frozen=True)
class Latency:
    fixed_ms: float = 0.0
    tail_ms: float = 0.0
    tail_alpha: float = 1.5
    max_ms: float = 30_000.0

    def __post_init__(self) -> None:
        _number(self.fixed_ms, "fixed_ms", 0.0)
        _number(self.tail_ms, "tail_ms", 0.0)
        _number(self.tail_alpha, "tail_alpha", 0.1)
        _number(self.max_ms, "max_ms", 0.0)

    def draw_ms(self, roll: float) -> float:
        tail = self.tail_ms * (float((1.0 - roll) ** (-1.0 / self.tail_alpha)) - 1.0)
        return float(min(self.max_ms, self.fixed_ms + tail))


@dataclass(frozen=True)
class FaultPlan:
    rules: tuple[FaultRule, ...] = ()
    script: tuple[FaultKind | None, ...] = ()
    latency: Latency = field(default_factory=Latency)
    slow_body_pause_ms: int = 5_000
    seed: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultPlan:
        """Read the JSON form (the admin endpoint's); unknown keys are an error."""
        known = {"rules", "script", "latency", "slow_body_pause_ms", "seed"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault plan keys {unknown}; known: {sorted(known)}")
        rules = []
        for rule in data.get("rules", ()):
            if not isinstance(rule, Mapping):
                raise ValueError("each rule must be an object")
            methods = rule.get("methods", ())
            rules.append(
                FaultRule(
                    kind=fault_kind(rule.get("kind")),
                    rate=_number(rule.get("rate", 0.0), "rate", 0.0, 1.0),
                    burst=rule.get("burst", 1),
                    methods=tuple(str(m) for m in methods),
                )
            )
        script = tuple(
            None if step is None else fault_kind(step) for step in data.get("script", ())
        )
        latency = data.get("latency", {})
        if not isinstance(latency, Mapping):
            raise ValueError("latency must be an object")
        pause = data.get("slow_body_pause_ms", 5_000)
        seed = data.get("seed", 0)
        if isinstance(pause, bool) or not isinstance(pause, int) or pause < 0:
            raise ValueError("slow_body_pause_ms must be a non-negative integer")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        return cls(tuple(rules), script, Latency(**dict(latency)), pause, seed)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form that ``from_mapping`` reads (lists, not tuples)."""
        plain: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return plain


@dataclass(frozen=True)
class FlowLimit:
    """At most ``burst`` requests at once per appId, refilled at ``rps`` per second."""

    rps: float
    burst: int = 1

    def __post_init__(self) -> None:
        _number(self.rps, "rps", 0.0)
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"burst must be a positive integer, got {self.burst!r}")


@dataclass(frozen=True)
class Decision:
    kind: FaultKind | None
    delay_s: float


class FaultInjector:
    """Applies one plan to requests in the order they arrive."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._lock = threading.Lock()
        self._served = 0
        self._burst: FaultRule | None = None
        self._burst_left = 0
        self._rule_keys = [derive(plan.seed, "fault", i) for i in range(len(plan.rules))]
        self._latency_key = derive(plan.seed, "latency")

    def decide(self, method: str) -> Decision:
        plan = self.plan
        with self._lock:
            n = self._served
            self._served += 1
            kind: FaultKind | None = None
            if n < len(plan.script):
                kind = plan.script[n]
            elif self._burst is not None and self._burst.applies_to(method):
                kind = self._burst.kind
                self._burst_left -= 1
                if self._burst_left <= 0:
                    self._burst = None
            else:
                for key, rule in zip(self._rule_keys, plan.rules, strict=True):
                    if rule.applies_to(method) and unit(key, n) < rule.rate:
                        kind = rule.kind
                        if rule.burst > 1:
                            self._burst, self._burst_left = rule, rule.burst - 1
                        break
        return Decision(kind, plan.latency.draw_ms(unit(self._latency_key, n)) / 1000.0)


class FlowLimiter:
    """Token buckets per appId, on real (monotonic) time."""

    def __init__(self, limit: FlowLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, app_id: str) -> bool:
        now = self._monotonic()
        with self._lock:
            tokens, last = self._buckets.get(app_id, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - last) * self.limit.rps)
            allowed = tokens >= 1.0
            self._buckets[app_id] = (tokens - 1.0 if allowed else tokens, now)
            return allowed
