"""The sandbox gateway as an ASGI app: ``POST /api`` (the Freshliance protocol) and ``/admin``.

``/api`` is a raw ASGI endpoint rather than a Starlette request handler, because some faults are
about delivery, not content: a latency is awaited (the event loop keeps serving others), a slow
body is sent in two parts with a pause between, and a reset aborts the TCP connection with
SO_LINGER 0 so the client sees a real RST. Reaching the socket needs the server's transport,
which ASGI does not expose; uvicorn's ``send`` is a bound method of an object that holds it, so
``SandboxApp`` picks it up before Starlette wraps ``send``. Under another server a reset falls
back to closing the connection after the status line, which a client sees as a broken response.

The protocol work runs in a worker thread: a page is cheap, but the first full trip listing of a
large fleet builds its id index (about a second for 2,000 devices over a year) and must not
stall the event loop.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from freshliance_pipeline.sandbox.admin import admin_routes
from freshliance_pipeline.sandbox.counts import RequestCounts
from freshliance_pipeline.sandbox.faults import FaultPlan, FlowLimit
from freshliance_pipeline.sandbox.fleet import Fleet
from freshliance_pipeline.sandbox.gateway import (
    DEFAULT_MAX_SKEW_MS,
    AppRegistry,
    Gateway,
    Reply,
    ResponseSigner,
)
from freshliance_pipeline.sandbox.quirks import WireQuirks
from freshliance_pipeline.sandbox.webhook import WebhookPusher

_TRANSPORT = "freshliance.sandbox.transport"


class SandboxApp(Starlette):
    """Starlette, plus the connection's transport in the scope (for the reset fault)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            owner = getattr(send, "__self__", None)
            scope[_TRANSPORT] = getattr(owner, "transport", None)
        await super().__call__(scope, receive, send)


class ApiEndpoint:
    """``POST /api``: one request body in, one ``Reply`` delivered as it says."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        reply: Reply = await run_in_threadpool(self.gateway.respond, body)
        if reply.delay_s > 0:
            await anyio.sleep(reply.delay_s)
        if reply.reset and _reset(scope.get(_TRANSPORT)):
            # Let the loop notice the dead connection before the server looks for a response.
            await anyio.sleep(0.01)
            return
        headers = [
            (b"content-type", reply.content_type.encode("ascii")),
            (b"content-length", str(len(reply.body)).encode("ascii")),
        ]
        await send(
            {"type": "http.response.start", "status": reply.status or 502, "headers": headers}
        )
        if reply.reset:
            # No transport to abort: stop after the headers, which breaks the response too.
            raise ConnectionAbortedError("sandbox fault: connection reset")
        if reply.pause_at is None:
            await send({"type": "http.response.body", "body": reply.body})
            return
        await send(
            {"type": "http.response.body", "body": reply.body[: reply.pause_at], "more_body": True}
        )
        await anyio.sleep(reply.pause_s)
        await send({"type": "http.response.body", "body": reply.body[reply.pause_at :]})


def _reset(transport: Any) -> bool:
    """Abort the connection with a TCP RST; False when the transport is unknown."""
    if transport is None or not hasattr(transport, "abort"):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


def create_app(
    fleet: Fleet,
    registry: AppRegistry,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    *,
    counts: RequestCounts | None = None,
    response_signer: ResponseSigner | None = None,
    quirks: WireQuirks | None = None,
    faults: FaultPlan | None = None,
    flow_limit: FlowLimit | None = None,
    webhooks: WebhookPusher | None = None,
) -> SandboxApp:
    """The ASGI app; ``app.state.gateway`` and ``app.state.webhooks`` expose its parts."""
    gateway = Gateway(
        fleet,
        registry,
        max_skew_ms,
        counts=counts,
        response_signer=response_signer,
        quirks=quirks,
        faults=faults,
        flow_limit=flow_limit,
    )
    pusher = webhooks if webhooks is not None else WebhookPusher(fleet)
    routes = [Route("/api", ApiEndpoint(gateway), methods=["POST"]), *admin_routes(gateway, pusher)]
    app = SandboxApp(routes=routes)
    app.state.gateway = gateway
    app.state.webhooks = pusher
    return app
