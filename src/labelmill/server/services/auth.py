"""API keys: minting, hashing, and turning a presented key into a ``Principal``."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from labelmill.server.errors import Unauthenticated
from labelmill.server.models import ApiKey, Membership, User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, resolved from an API key (or from the CLI, which acts as admin)."""

    key_id: int | None
    user_id: int | None
    org_id: int | None
    role: str | None
    is_admin: bool = False
    is_test: bool = False


CLI_ADMIN = Principal(key_id=None, user_id=None, org_id=None, role=None, is_admin=True)


@dataclass(frozen=True, slots=True)
class MintedKey:
    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_key(
    *,
    session: Session,
    org_id: int | None,
    user_id: int | None,
    role: str | None,
    is_test: bool = False,
    name: str = "",
) -> MintedKey:
    """Create a key; the secret is returned here once and never stored."""
    secret = f"lm_{'test' if is_test else 'live'}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        key_hash=hash_key(secret),
        prefix=secret[:12],
        name=name,
        org_id=org_id,
        user_id=user_id,
        role=role,
        is_test=is_test,
    )
    session.add(key)
    session.flush()
    return MintedKey(key=key, secret=secret)


_key = cast(Table, ApiKey.__table__)
_user = cast(Table, User.__table__)
_member = cast(Table, Membership.__table__)
# One round trip per request: the key, its user's admin flag and its member's current role.
_AUTHENTICATE = (
    select(
        _key.c.id,
        _key.c.org_id,
        _key.c.user_id,
        _key.c.role,
        _key.c.is_test,
        _user.c.is_admin,
        _member.c.role,
    )
    .select_from(
        _key.outerjoin(_user, _user.c.id == _key.c.user_id).outerjoin(
            _member,
            (_member.c.org_id == _key.c.org_id) & (_member.c.user_id == _key.c.user_id),
        )
    )
    .where(_key.c.key_hash == bindparam("key_hash"), _key.c.revoked_at.is_(None))
)


UNKNOWN_KEY = "unknown or revoked API key"
NO_LONGER_A_MEMBER = "this key's user is no longer a member of its organization"


def authenticate(*, session: Session, secret: str) -> Principal:
    row = session.connection().execute(_AUTHENTICATE, {"key_hash": hash_key(secret)}).first()
    if row is None:
        raise Unauthenticated(UNKNOWN_KEY)
    key_id, org_id, user_id, key_role, is_test, is_admin, member_role = row
    role = key_role
    if user_id is not None and org_id is not None:
        # A member's key acts with the member's current role; removing the member
        # disables the key.
        if member_role is None:
            raise Unauthenticated(NO_LONGER_A_MEMBER)
        role = member_role
    return Principal(
        key_id=key_id,
        user_id=user_id,
        org_id=org_id,
        role=role,
        is_admin=bool(is_admin),
        is_test=bool(is_test),
    )
