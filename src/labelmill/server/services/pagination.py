"""Opaque keyset cursors: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from labelmill.server.errors import InvalidInput, Malformed

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Cursor:
    after_id: int = 0
    limit: int = 100


def encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"v": 1, "after": after_id})).decode().rstrip("=")


def decode_cursor(token: str | None, limit: int) -> Cursor:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if token is None or token == "":
        return Cursor(0, limit)
    try:
        padded = token + "=" * (-len(token) % 4)
        data: Any = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise Malformed("cursor is not a cursor this server issued") from None
    after = data.get("after") if isinstance(data, dict) else None
    if data.get("v") != 1 if isinstance(data, dict) else True:
        raise Malformed("cursor is not a cursor this server issued")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise Malformed("cursor is not a cursor this server issued")
    return Cursor(after, limit)


def page_of(
    session: Session, query: Select[T], id_column: InstrumentedAttribute[int], cursor: Cursor
) -> tuple[list[T], str | None]:
    """One page of ``query`` ordered by ``id_column``, and the cursor of the next page."""
    rows = list(
        session.scalars(
            query.where(id_column > cursor.after_id).order_by(id_column).limit(cursor.limit + 1)
        )
    )
    if len(rows) <= cursor.limit:
        return rows, None
    rows = rows[: cursor.limit]
    return rows, encode_cursor(getattr(rows[-1], id_column.key))
