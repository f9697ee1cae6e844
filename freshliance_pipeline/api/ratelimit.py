"""A client-side token bucket that adapts to the gateway's flow limit.

The docs publish no rate limit, only the code 60000 ``request-call-limited`` (freshliance-api.md
9.10). The bucket starts at FRESHLIANCE_MAX_RPS; each 60000 cuts the rate by a fifth and each
success wins a little of it back (additive increase, multiplicative decrease), so the client
settles just under whatever the account allows instead of failing or idling. One bucket is
shared by every thread of a client, so concurrent window fetches stay inside it together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DECREASE = 0.8
# Per success, as a share of the configured rate: recovers the full rate in about 50 calls.
INCREASE = 0.02
FLOOR_RPS = 0.2


class TokenBucket:
    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_rate = rate if rate and rate > 0 else 0.0
        self.rate = self.max_rate
        self.burst = burst if burst and burst > 0 else max(1.0, self.max_rate)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    @property
    def unlimited(self) -> bool:
        return self.max_rate == 0.0

    def acquire(self) -> None:
        """Take one token, sleeping until one is free."""
        if self.unlimited:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)

    def throttled(self) -> None:
        """The gateway said 60000: slow down and drop the saved-up burst."""
        if self.unlimited:
            return
        with self._lock:
            self.rate = max(FLOOR_RPS, self.rate * DECREASE)
            self._tokens = min(self._tokens, 0.0)

    def succeeded(self) -> None:
        if self.unlimited:
            return
        with self._lock:
            self.rate = min(self.max_rate, self.rate + INCREASE * self.max_rate)
