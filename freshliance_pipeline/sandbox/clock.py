"""The sandbox's notion of "now": a frozen clock that tests set and advance by hand.

Everything time-dependent in the sandbox world (trip status, which readings exist, battery time)
reads ``Clock.now_ms()`` and nothing else, so a test can stand at any instant of the world and
move it forward to watch trips start, record and end. The gateway's timestamp check is the one
exception: it compares a request's ``timestamp`` with the real wall clock, because that is what
a client's clock-skew problem looks like against the real platform.

A real-time mode (now = anchor + elapsed wall time, optionally sped up) will come later; it only
has to provide the same three methods, which are the whole seam the fleet depends on.
"""

from __future__ import annotations

import threading


class Clock:
    """A thread-safe frozen clock in epoch milliseconds (UTC)."""

    def __init__(self, now_ms: int) -> None:
        self._lock = threading.Lock()
        self._now_ms = _checked(now_ms)

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def set(self, ms: int) -> None:
        """Jump to ``ms``; moving backwards is allowed, tests use it to replay a window."""
        value = _checked(ms)
        with self._lock:
            self._now_ms = value

    def advance(self, ms: int) -> int:
        """Move forward (or back, when negative) by ``ms`` and return the new time."""
        step = _checked(ms)
        with self._lock:
            self._now_ms += step
            return self._now_ms

    def __repr__(self) -> str:
        return f"Clock(now_ms={self.now_ms()})"


def _checked(value: int) -> int:
    # bool is an int subclass; a True slipping in as "1 ms" would be a silent bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"clock times are int epoch milliseconds, got {type(value).__name__}")
    return value
