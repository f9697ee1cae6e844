"""Paging stops on the listing's end, whatever total claims."""

from __future__ import annotations

from typing import Any

import pytest

from freshliance_pipeline.api.pages import PageShapeError, iter_pages


class Listing:
    """A page source over ``rows`` that may announce a wrong total."""

    def __init__(self, rows: int, total: int | None = None, repeat_last: bool = False) -> None:
        self.rows = [{"id": i} for i in range(rows)]
        self.total = rows if total is None else total
        self.repeat_last = repeat_last
        self.requests: list[int] = []

    def __call__(self, page_num: int, page_size: int) -> dict[str, Any]:
        self.requests.append(page_num)
        start = (page_num - 1) * page_size
        chunk = self.rows[start : start + page_size]
        if not chunk and self.repeat_last:
            # A server that ignores pageNum past the end and serves a full page again.
            chunk = self.rows[-page_size:]
        return {"total": self.total, "rows": chunk}


def ids(listing: Listing, page_size: int = 50) -> list[int]:
    return [row["id"] for page in iter_pages(listing, page_size) for row in page.rows]


@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 100, 137])
def test_reads_every_row_once_and_no_extra_page(count: int) -> None:
    listing = Listing(count)

    assert ids(listing) == list(range(count))
    assert len(listing.requests) == max(1, -(-count // 50))


def test_a_total_too_high_stops_at_the_short_page() -> None:
    listing = Listing(60, total=10_000)

    assert ids(listing) == list(range(60))
    assert listing.requests == [1, 2]


def test_a_total_too_high_with_full_pages_forever_is_bounded() -> None:
    listing = Listing(100, total=150, repeat_last=True)

    result = ids(listing)

    assert listing.requests == [1, 2, 3]
    assert len(result) == 150


def test_a_total_too_low_stops_once_total_rows_are_read() -> None:
    listing = Listing(120, total=50)

    assert ids(listing) == list(range(50))
    assert listing.requests == [1]


def test_page_size_is_checked() -> None:
    with pytest.raises(ValueError, match="between 1 and 50"):
        list(iter_pages(Listing(1), 51))


def test_a_page_without_rows_list_is_a_shape_error() -> None:
    with pytest.raises(PageShapeError):
        list(iter_pages(lambda n, s: {"total": 1, "rows": "oops"}))
