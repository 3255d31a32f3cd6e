"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from labelmill.server.db.engine import Database
from labelmill.server.errors import Unauthenticated
from labelmill.server.services.auth import Principal, authenticate


async def get_db(request: Request) -> Database:
    # async: a sync dependency would cost a hop to the threadpool on every request.
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def presented_key(request: Request) -> str:
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


async def get_principal(request: Request, db: DbDep) -> Principal:
    """The caller. Authentication runs on the event loop: it is one indexed lookup, and
    measured cheaper than a hop to a worker thread (see ``routes_work`` for why short
    units of work do not need threads on either database)."""
    with db.read_session() as session:
        return authenticate(session=session, secret=presented_key(request))


PrincipalDep = Annotated[Principal, Depends(get_principal)]
