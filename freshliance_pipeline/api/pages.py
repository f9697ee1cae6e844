"""Paging over the gateway's ``*.page`` methods.

Every page method answers ``{"total": n, "rows": [...]}`` for ``pageNum`` (from 1) and
``pageSize`` (1 to 50). We walk pages until ``total`` rows are read or a page comes back short
or empty. ``total`` is only trusted as an upper bound on how many pages to ask for, so a gateway
whose ``total`` is wrong (too high, or growing while new data arrives) cannot keep us looping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    rows: list[dict[str, Any]]


class PageShapeError(ValueError):
    """A page's ``data`` is not ``{"total": int, "rows": [object, ...]}``."""


def parse_page(data: Any) -> tuple[int, list[dict[str, Any]]]:
    if not isinstance(data, Mapping):
        raise PageShapeError(f"expected an object with total and rows, got {type(data).__name__}")
    rows = data.get("rows")
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        raise PageShapeError("rows is not a list of objects")
    try:
        total = int(data.get("total", len(rows)))
    except (TypeError, ValueError) as exc:
        raise PageShapeError(f"total is not an integer: {data.get('total')!r}") from exc
    return total, [dict(row) for row in rows]


def iter_pages(fetch: Callable[[int, int], Any], page_size: int = MAX_PAGE_SIZE) -> Iterator[Page]:
    """Yield pages from ``fetch(page_num, page_size)`` until the listing is exhausted."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    page_num = 1
    read = 0
    largest_total = 0
    while True:
        total, rows = parse_page(fetch(page_num, page_size))
        largest_total = max(largest_total, total)
        yield Page(number=page_num, total=total, rows=rows)
        read += len(rows)
        if len(rows) < page_size or read >= total:
            return
        # A full page with rows still missing: go on, but never past the pages the largest
        # total ever announced could fill.
        if page_num >= math.ceil(largest_total / page_size):
            return
        page_num += 1
