"""Query parameters and envelopes for list routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from labelmill.schemas.common import Page
from labelmill.server.services.pagination import Cursor, decode_cursor

M = TypeVar("M", bound=BaseModel)


async def cursor_params(
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(description="page size, 1..1000")] = 100,
) -> Cursor:
    return decode_cursor(cursor, limit)


CursorDep = Annotated[Cursor, Depends(cursor_params)]


def page(model: type[M], rows: Sequence[Any], next_cursor: str | None) -> Page[M]:
    return Page[model](  # type: ignore[valid-type]
        data=[model.model_validate(row) for row in rows], next_cursor=next_cursor
    )
