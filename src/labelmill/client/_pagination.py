"""Following ``next_cursor`` through every page of a list route."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from labelmill.schemas.common import Page

ItemT = TypeVar("ItemT")


def iterate_pages(fetch: Callable[[str | None], Page[ItemT]]) -> Iterator[ItemT]:
    """Yield every item, fetching one page at a time (``fetch(cursor)``) until the server
    returns no ``next_cursor``. Memory holds one page, not the whole list."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.data
        if page.next_cursor is None:
            return
        if page.next_cursor == cursor:
            # A server that hands back the cursor it was given would loop forever.
            raise RuntimeError(f"server returned the same cursor twice: {cursor!r}")
        cursor = page.next_cursor
