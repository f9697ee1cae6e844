"""Run the sandbox gateway on loopback in a background thread, for tests and local runs.

``with SandboxServer() as server:`` binds a free port, starts uvicorn and returns once the socket
accepts connections; ``server.url`` is the endpoint to point a client at and ``server.new_app()``
registers a throwaway RSA key pair. The socket is bound here rather than by uvicorn so that port 0
resolves to a known port before the server starts, and a restarted server keeps its port.
``server.admin_url`` is the admin endpoint (:mod:`.admin`); ``server.gateway`` holds the wire
quirks, fault plan and flow limit, settable at any time; ``server.webhooks`` pushes uploads to a
receiver while the server runs.

Logging stays quiet: uvicorn's own logging config is not applied (library code must not
configure handlers), the access log is off and uvicorn's loggers are set to warning.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from types import TracebackType

import uvicorn
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from freshliance_pipeline.api.signing import generate_private_key, public_key_pem
from freshliance_pipeline.sandbox.asgi import create_app
from freshliance_pipeline.sandbox.counts import RequestCounts
from freshliance_pipeline.sandbox.faults import FaultPlan, FlowLimit
from freshliance_pipeline.sandbox.fleet import Fleet
from freshliance_pipeline.sandbox.gateway import DEFAULT_MAX_SKEW_MS, AppRegistry, Gateway
from freshliance_pipeline.sandbox.quirks import WireQuirks
from freshliance_pipeline.sandbox.webhook import DataTypes, WebhookPusher

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class SandboxServer:
    """The sandbox gateway served by uvicorn on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        fleet: Fleet | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
        quirks: WireQuirks | None = None,
        faults: FaultPlan | None = None,
        flow_limit: FlowLimit | None = None,
        webhook_url: str | None = None,
        webhook_data_types: DataTypes = "docs",
    ) -> None:
        self._fleet = fleet if fleet is not None else Fleet()
        self._registry = AppRegistry()
        self._webhooks = WebhookPusher(self._fleet, webhook_url, data_types=webhook_data_types)
        self._app = create_app(
            self._fleet,
            self._registry,
            max_skew_ms,
            quirks=quirks,
            faults=faults,
            flow_limit=flow_limit,
            webhooks=self._webhooks,
        )
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def fleet(self) -> Fleet:
        return self._fleet

    @property
    def registry(self) -> AppRegistry:
        return self._registry

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self._app.state.gateway
        return gateway

    @property
    def counts(self) -> RequestCounts:
        return self.gateway.counts

    @property
    def webhooks(self) -> WebhookPusher:
        return self._webhooks

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the sandbox server has no port until it has been started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/api"

    @property
    def admin_url(self) -> str:
        return self.url.removesuffix("/api") + "/admin"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def register_app(self, app_id: str, public_key_pem: str) -> None:
        self._registry.register(app_id, public_key_pem)

    def new_app(self, app_id: str | None = None) -> tuple[str, RSAPrivateKey]:
        """Register a fresh 2048-bit key pair; the appId defaults to 27 random digits."""
        if app_id is None:
            # 27 digits like the docs' example appId, too long for an int64 on purpose.
            app_id = str(10**26 + secrets.randbelow(9 * 10**26))
        key = generate_private_key(2048)
        self.register_app(app_id, public_key_pem(key))
        return app_id, key

    def start(self) -> None:
        """Serve in a background thread; returns once the socket accepts connections."""
        if self.running:
            return
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, self._port), family=family)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"sandbox-gateway-{self._port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                where = f"{self._host}:{self._port}"
                raise RuntimeError(f"the sandbox gateway did not start on {where}")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        if self._webhooks.url is not None:
            self._webhooks.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call when not running."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._webhooks.stop()
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            # Connections that will not close (a client holding a stream) must not hang a test.
            server.force_exit = True
            thread.join(_STOP_TIMEOUT_S)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self._host}:{self._port}" if self._port else self._host
        return f"SandboxServer({where}, running={self.running})"
