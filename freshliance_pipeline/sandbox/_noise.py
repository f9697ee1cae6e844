"""Hash-based deterministic noise: every random-looking number is a hash of where it is used.

The sandbox never touches a global random state. Entities (a device, a trip) take their draws
from :class:`Draws`, whose n-th draw is a hash of (entity key, n); readings hash
(trip key, channel, reading index) with splitmix64, which is cheap enough to recompute any reading
on demand instead of storing the series.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_64 = float(1 << 64)


def derive(*parts: int | str) -> int:
    """A 64-bit key for a named stream, e.g. ``derive(seed, "trip", 2465)``."""
    text = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def mix(key: int, index: int) -> int:
    """splitmix64 of the ``index``-th element of the stream ``key``."""
    z = (key + (index + 1) * _GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def unit(key: int, index: int) -> float:
    """Uniform in [0, 1)."""
    return mix(key, index) / _TWO_64


def signed(key: int, index: int) -> float:
    """Uniform in [-1, 1)."""
    return 2.0 * unit(key, index) - 1.0


def smooth(key: int, x: float) -> float:
    """Value noise in [-1, 1]: random knots at integer x, eased in between.

    Gives slowly wandering curves (a reefer's temperature, a sensor's drift) that are still a pure
    function of x, so reading i never depends on reading i-1.
    """
    knot = math.floor(x)
    t = x - knot
    ease = t * t * (3.0 - 2.0 * t)
    left, right = signed(key, knot), signed(key, knot + 1)
    return left + (right - left) * ease


class Draws:
    """The seeded draws that build one entity; the n-th draw is a hash of (key, n)."""

    def __init__(self, *parts: int | str) -> None:
        self._key = derive(*parts)
        self._n = 0

    def unit(self) -> float:
        value = unit(self._key, self._n)
        self._n += 1
        return value

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.unit()

    def integer(self, low: int, high: int) -> int:
        """Uniform over ``low..high`` inclusive."""
        return low + min(int(self.unit() * (high - low + 1)), high - low)

    def chance(self, probability: float) -> bool:
        return self.unit() < probability

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]
