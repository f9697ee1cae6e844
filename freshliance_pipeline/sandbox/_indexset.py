"""A range of reading indices minus a few holes, with arithmetic length and positional access.

A probe's readings in a window are ``range(first, last + 1)`` less the probe's gaps (a
disconnected probe records nothing). Gaps are few per trip, so counting, finding the j-th index
and slicing a page cost O(gaps), never O(readings).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence


class IndexSet:
    """``range(first, stop)`` without the inclusive index intervals in ``holes``."""

    __slots__ = ("_pieces", "_starts", "_total")

    def __init__(self, first: int, stop: int, holes: Sequence[tuple[int, int]] = ()) -> None:
        pieces: list[range] = []
        cursor = first
        for low, high in sorted(holes):
            if high < cursor or low >= stop:
                continue
            if low > cursor:
                pieces.append(range(cursor, min(low, stop)))
            cursor = max(cursor, high + 1)
        if cursor < stop:
            pieces.append(range(cursor, stop))
        self._pieces = pieces
        starts, total = [], 0
        for piece in pieces:
            starts.append(total)
            total += len(piece)
        self._starts = starts
        self._total = total

    def __len__(self) -> int:
        return self._total

    def __bool__(self) -> bool:
        return self._total > 0

    def at(self, position: int) -> int:
        """The index at ``position`` (0-based) in ascending order."""
        if not 0 <= position < self._total:
            raise IndexError(f"position {position} outside 0..{self._total - 1}")
        for start, piece in zip(reversed(self._starts), reversed(self._pieces), strict=True):
            if position >= start:
                return piece[position - start]
        raise AssertionError("unreachable: positions are covered by the pieces")

    def slice(self, offset: int, limit: int) -> list[int]:
        """Indices at positions ``offset .. offset + limit - 1`` (fewer at the end)."""
        out: list[int] = []
        for start, piece in zip(self._starts, self._pieces, strict=True):
            if len(out) >= limit:
                break
            if offset >= start + len(piece):
                continue
            low = max(0, offset - start)
            out.extend(piece[low : low + limit - len(out)])
        return out

    @property
    def last(self) -> int | None:
        return self._pieces[-1][-1] if self._pieces else None

    def __iter__(self) -> Iterator[int]:
        for piece in self._pieces:
            yield from piece


def permuted(position: int, total: int, order: str) -> int:
    """Where position ``position`` reads from under the row order ``"reversed"`` or
    ``"scrambled"``: a bijection of ``0 .. total - 1``, computed per position."""
    if order == "reversed":
        return total - 1 - position
    # An affine map with a stride coprime to the total visits every row once, far from time order.
    stride = max(1, int(total * 0.618)) | 1
    while math.gcd(stride, total) != 1:
        stride += 2
    return (stride * position + total // 3) % total
