"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from labelmill.server.db.engine import Database
from labelmill.server.errors import Unauthenticated
from labelmill.server.services.auth import Principal, authenticate

T = TypeVar("T")


async def get_db(request: Request) -> Database:
    # async: a sync dependency would cost a hop to the threadpool on every request.
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>' or Basic auth")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed Basic credentials") from None
        username = decoded.partition(":")[0]
        if username:
            return username
    raise Unauthenticated("unsupported Authorization header")


async def run_unit(db: Database, function: Callable[..., T], *args: Any) -> T:
    """Run a short unit of work the cheapest way for the database.

    SQLite has one writer at a time anyway, so running the transaction on the event loop
    saves the hop to a worker thread (no await happens inside it). PostgreSQL serves many
    transactions at once and each waits on network round trips: those go to the
    threadpool so they overlap.
    """
    if db.is_sqlite:
        return function(*args)
    return await anyio.to_thread.run_sync(function, *args, limiter=_db_threads())


@lru_cache(maxsize=1)
def _db_threads() -> anyio.CapacityLimiter:
    # A few threads suffice to overlap round trips; dozens only fight over the GIL.
    return anyio.CapacityLimiter(8)


def _authenticate(db: Database, secret: str) -> Principal:
    with db.read_session() as session:
        return authenticate(session=session, secret=secret)


async def get_principal(request: Request, db: DbDep) -> Principal:
    return await run_unit(db, _authenticate, db, _presented_key(request))


async def get_secret(request: Request) -> str:
    """The presented key, for routes that authenticate inside their own unit of work."""
    return _presented_key(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
SecretDep = Annotated[str, Depends(get_secret)]
