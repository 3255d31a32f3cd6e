"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from labelmill.server.db.engine import Database
from labelmill.server.errors import Unauthenticated
from labelmill.server.services.auth import Principal, authenticate


def get_db(request: Request) -> Database:
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


async def get_principal(request: Request, db: DbDep) -> Principal:
    """Runs on the event loop: one indexed lookup is cheaper than the hop to a worker
    thread that a sync dependency costs."""
    secret = _presented_key(request)
    with db.read_session() as session:
        return authenticate(session=session, secret=secret)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
