"""What the gateway served: requests per method, per appId and per outcome, throttling, faults."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any


class RequestCounts(Mapping[str, int]):
    """Requests answered, by method name, with per-appId, per-code and per-fault breakdowns.

    Every request whose body was read is counted, rejected ones included (under "" when the
    method or appId is missing). A request answered by an injected transport fault (an HTTP
    error page, a reset, a body that is not JSON) is counted under that fault's name in
    ``by_code``; throttled requests under ``"60000"`` and in ``throttled``. Like
    ``collections.Counter``, an unseen method reads as 0.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_method: Counter[str] = Counter()
        self._by_app: dict[str, Counter[str]] = {}
        self._by_code: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._throttled = 0

    def record(self, app_id: str, method: str, code: str) -> None:
        with self._lock:
            self._by_method[method] += 1
            self._by_app.setdefault(app_id, Counter())[method] += 1
            self._by_code[code] += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def record_throttled(self) -> None:
        with self._lock:
            self._throttled += 1

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

    @property
    def throttled(self) -> int:
        """Requests answered 60000 by the flow limit (injected 60000 faults are in faults())."""
        with self._lock:
            return self._throttled

    @property
    def faulted(self) -> int:
        with self._lock:
            return sum(self._faults.values())

    def faults(self) -> dict[str, int]:
        """Injected faults by kind ("http-503", "reset", "code-10000", ...)."""
        with self._lock:
            return dict(self._faults)

    def for_app(self, app_id: str) -> dict[str, int]:
        """Requests of one appId, by method."""
        with self._lock:
            return dict(self._by_app.get(app_id, {}))

    def by_code(self) -> dict[str, int]:
        """Requests by response ``code`` ("0", "40000", ...) or transport fault name."""
        with self._lock:
            return dict(self._by_code)

    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain JSON-ready data (the admin endpoint's answer)."""
        with self._lock:
            return {
                "total": sum(self._by_method.values()),
                "by_method": dict(self._by_method),
                "by_app": {app: dict(methods) for app, methods in self._by_app.items()},
                "by_code": dict(self._by_code),
                "throttled": self._throttled,
                "faulted": sum(self._faults.values()),
                "faults": dict(self._faults),
            }

    def reset(self) -> None:
        with self._lock:
            self._by_method.clear()
            self._by_app.clear()
            self._by_code.clear()
            self._faults.clear()
            self._throttled = 0
