"""The sandbox's notion of "now": frozen for tests, or running like a wall clock.

Everything time-dependent in the sandbox world (trip status, which readings were recorded and
which were uploaded, battery and position) reads ``Clock.now_ms()`` and nothing else, so a test
can stand at any instant of the world and move it forward to watch trips start, devices come
back online and late data arrive. The gateway's timestamp check is the one exception: it
compares a request's ``timestamp`` with the real wall clock, because that is what a client's
clock-skew problem looks like against the real platform.

Modes (all our own; the platform has one clock, the real one):

* frozen (``Clock(ms)``): now stays at ``ms`` until ``set`` or ``advance`` moves it. Tests and
  the demo use it, which makes every run of a world identical.
* running (``Clock.real_time()``): now is the wall time, or a chosen start that then moves at
  ``speed`` times real time. ``set`` and ``advance`` jump it and it keeps running from there.
  The ``sandbox`` command uses it, so a sandbox left running keeps recording and uploading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

ClockMode = Literal["frozen", "real"]


class Clock:
    """A thread-safe clock in epoch milliseconds (UTC), frozen unless started."""

    def __init__(
        self,
        now_ms: int,
        *,
        running: bool = False,
        speed: float = 1.0,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._lock = threading.Lock()
        self._monotonic_ns = monotonic_ns
        self._base_ms = _checked(now_ms)
        self._base_ns = monotonic_ns()
        self._speed = _checked_speed(speed)
        self._running = running

    @classmethod
    def real_time(cls, start_ms: int | None = None, *, speed: float = 1.0) -> Clock:
        """A running clock starting at ``start_ms`` (default: the wall clock now)."""
        start = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        return cls(start, running=True, speed=speed)

    @property
    def mode(self) -> ClockMode:
        with self._lock:
            return "real" if self._running else "frozen"

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def now_ms(self) -> int:
        with self._lock:
            return self._now_locked()

    def set(self, ms: int) -> None:
        """Jump to ``ms``; moving backwards is allowed, tests use it to replay a window."""
        value = _checked(ms)
        with self._lock:
            self._rebase(value)

    def advance(self, ms: int) -> int:
        """Move forward (or back, when negative) by ``ms`` and return the new time."""
        step = _checked(ms)
        with self._lock:
            self._rebase(self._now_locked() + step)
            return self._base_ms

    def freeze(self) -> int:
        """Stop at the current time and return it."""
        with self._lock:
            self._rebase(self._now_locked())
            self._running = False
            return self._base_ms

    def run(self, speed: float | None = None) -> None:
        """Start moving from the current time, at ``speed`` times real time."""
        with self._lock:
            self._rebase(self._now_locked())
            if speed is not None:
                self._speed = _checked_speed(speed)
            self._running = True

    def _now_locked(self) -> int:
        if not self._running:
            return self._base_ms
        elapsed_ns = self._monotonic_ns() - self._base_ns
        return self._base_ms + int(elapsed_ns * self._speed) // 1_000_000

    def _rebase(self, ms: int) -> None:
        self._base_ms = ms
        self._base_ns = self._monotonic_ns()

    def __repr__(self) -> str:
        return f"Clock(now_ms={self.now_ms()}, mode={self.mode})"


def _checked(value: int) -> int:
    # bool is an int subclass; a True slipping in as "1 ms" would be a silent bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"clock times are int epoch milliseconds, got {type(value).__name__}")
    return value


def _checked_speed(speed: float) -> float:
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0:
        raise ValueError(f"clock speed must be a positive number, got {speed!r}")
    return float(speed)
