"""The sandbox's admin endpoints: clock, switches, accounting and ground truth over JSON.

Not part of the Freshliance API (all of it is ours). They answer loopback clients only, take and
return plain JSON with snake_case keys, and answer 400 ``{"error": ...}`` on a bad request:

=============================  =================================================================
``GET /admin``                 everything below in one object: clock, fleet, switches, counts
``POST /admin/clock``          ``{"set_ms": int}``, ``{"advance_ms": int}``, ``{"mode": "frozen"
                               | "real", "speed": float}``; then pushes what was uploaded
``POST /admin/quirks``         changes to the wire quirks, e.g. ``{"data_as_string": true}``
``POST /admin/faults``         a whole fault plan (``faults.FaultPlan``; ``{}`` clears it)
``POST /admin/flow-limit``     ``{"rps": 5, "burst": 10}``; ``{}`` removes the limit
``GET /admin/counts``          requests by method, appId and code; throttled; faults by kind
``POST /admin/counts/reset``   zero them
``GET /admin/truth``           ``begin_ms``, ``end_ms`` (required), ``trip_id``, ``probe_type``,
                               ``rows`` (1: include up to ``limit`` ground-truth rows): how many
                               readings are recorded, visible and pending in the window
``POST /admin/webhook``        ``{"url": str | null, "data_types": "docs" | "table"}``
``POST /admin/webhook/pump``   push now; ``{"delivered": n}``
``GET /admin/platform-key``    the public key responses are signed with (PEM and bare base64)
=============================  =================================================================
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from freshliance_pipeline.sandbox.faults import FaultPlan, FlowLimit
from freshliance_pipeline.sandbox.gateway import Gateway
from freshliance_pipeline.sandbox.webhook import WebhookPusher

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_TRUTH_ROW_LIMIT = 10_000

Endpoint = Callable[[Request], Awaitable[Response]]


class AdminError(ValueError):
    """A bad admin request; answered 400 with the message."""


def _guarded(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        client = request.client.host if request.client else ""
        if not (client in _LOOPBACK or client.startswith("127.")):
            return JSONResponse({"error": "admin endpoints answer loopback clients only"}, 403)
        try:
            return JSONResponse(await handler(request))
        except (AdminError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise AdminError("the body is not JSON") from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise AdminError("the body must be a JSON object")
    return parsed


def _int_arg(args: Mapping[str, str], name: str, *, required: bool = False) -> int | None:
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise AdminError(f"{name} is required")
        return None
    try:
        return int(value)
    except ValueError:
        raise AdminError(f"{name} must be an integer, got {value!r}") from None


def admin_routes(gateway: Gateway, webhooks: WebhookPusher) -> list[Route]:
    fleet = gateway.fleet
    clock = fleet.clock

    def clock_state() -> dict[str, Any]:
        return {"now_ms": clock.now_ms(), "mode": clock.mode, "speed": clock.speed}

    def flow_limit() -> dict[str, Any] | None:
        limit = gateway.flow_limit
        return None if limit is None else {"rps": limit.rps, "burst": limit.burst}

    async def state(request: Request) -> dict[str, Any]:
        config = fleet.config
        return {
            "clock": clock_state(),
            "fleet": {
                "seed": config.seed,
                "devices": config.devices,
                "days": config.days,
                "anchor_ms": config.anchor,
                "interval_min": config.interval_min,
                "late_uploads": config.late_uploads,
            },
            "quirks": gateway.quirks.as_dict(),
            "faults": gateway.faults.as_dict(),
            "flow_limit": flow_limit(),
            "webhook": webhooks.stats(),
            "counts": gateway.counts.snapshot(),
        }

    async def set_clock(request: Request) -> dict[str, Any]:
        body = await _body(request)
        if "set_ms" in body:
            clock.set(body["set_ms"])
        if "advance_ms" in body:
            clock.advance(body["advance_ms"])
        mode = body.get("mode")
        if mode == "frozen":
            clock.freeze()
        elif mode == "real":
            clock.run(body.get("speed"))
        elif mode is not None:
            raise AdminError(f"mode must be 'frozen' or 'real', got {mode!r}")
        delivered = await run_in_threadpool(webhooks.pump)
        return {**clock_state(), "webhook_delivered": delivered}

    async def set_quirks(request: Request) -> dict[str, Any]:
        gateway.quirks = gateway.quirks.updated(await _body(request))
        return gateway.quirks.as_dict()

    async def set_faults(request: Request) -> dict[str, Any]:
        gateway.faults = FaultPlan.from_mapping(await _body(request))
        return gateway.faults.as_dict()

    async def set_flow_limit(request: Request) -> dict[str, Any]:
        body = await _body(request)
        gateway.flow_limit = FlowLimit(body.get("rps", -1), body.get("burst", 1)) if body else None
        return {"flow_limit": flow_limit()}

    async def counts(request: Request) -> dict[str, Any]:
        return gateway.counts.snapshot()

    async def reset_counts(request: Request) -> dict[str, Any]:
        gateway.counts.reset()
        return gateway.counts.snapshot()

    async def truth(request: Request) -> dict[str, Any]:
        args = request.query_params
        begin = _int_arg(args, "begin_ms", required=True)
        end = _int_arg(args, "end_ms", required=True)
        assert begin is not None and end is not None
        trip_id, probe_type = _int_arg(args, "trip_id"), _int_arg(args, "probe_type")
        limit = _int_arg(args, "limit") or _TRUTH_ROW_LIMIT

        def compute() -> dict[str, Any]:
            found: dict[str, Any] = {
                "now_ms": clock.now_ms(),
                **fleet.truth_counts(begin, end, trip_id=trip_id, probe_type=probe_type),
            }
            if args.get("rows") in ("1", "true"):
                rows = fleet.ground_truth(begin, end, trip_id=trip_id, probe_type=probe_type)
                found["rows"] = rows[:limit]
                found["rows_truncated"] = len(rows) > limit
            return found

        return await run_in_threadpool(compute)

    async def set_webhook(request: Request) -> dict[str, Any]:
        body = await _body(request)
        url = body.get("url")
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise AdminError(f"url must be an http(s) URL or null, got {url!r}")
        webhooks.configure(url, body.get("data_types"))
        if url is not None:
            webhooks.start()
        return webhooks.stats()

    async def pump(request: Request) -> dict[str, Any]:
        return {"delivered": await run_in_threadpool(webhooks.pump)}

    async def platform_key(request: Request) -> dict[str, Any]:
        pem = await run_in_threadpool(gateway.platform_public_key_pem)
        body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
        return {"public_key_pem": pem, "public_key_base64": body}

    get, post = ["GET"], ["POST"]
    return [
        Route("/admin", _guarded(state), methods=get),
        Route("/admin/clock", _guarded(set_clock), methods=post),
        Route("/admin/quirks", _guarded(set_quirks), methods=post),
        Route("/admin/faults", _guarded(set_faults), methods=post),
        Route("/admin/flow-limit", _guarded(set_flow_limit), methods=post),
        Route("/admin/counts", _guarded(counts), methods=get),
        Route("/admin/counts/reset", _guarded(reset_counts), methods=post),
        Route("/admin/truth", _guarded(truth), methods=get),
        Route("/admin/webhook", _guarded(set_webhook), methods=post),
        Route("/admin/webhook/pump", _guarded(pump), methods=post),
        Route("/admin/platform-key", _guarded(platform_key), methods=get),
    ]
