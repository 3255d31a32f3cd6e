"""API keys: minting, hashing, and turning a presented key into a ``Principal``."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
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


def authenticate(*, session: Session, secret: str) -> Principal:
    row = session.execute(
        select(ApiKey.id, ApiKey.org_id, ApiKey.user_id, ApiKey.role, ApiKey.is_test).where(
            ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None)
        )
    ).one_or_none()
    if row is None:
        raise Unauthenticated("unknown or revoked API key")
    key_id, org_id, user_id, role, is_test = row
    is_admin = False
    if user_id is not None:
        is_admin = bool(session.scalar(select(User.is_admin).where(User.id == user_id)))
        if org_id is not None:
            # A member's key acts with the member's current role; removing the member
            # disables the key.
            role = session.scalar(
                select(Membership.role).where(
                    Membership.org_id == org_id, Membership.user_id == user_id
                )
            )
            if role is None:
                raise Unauthenticated("this key's user is no longer a member of its organization")
    return Principal(
        key_id=key_id,
        user_id=user_id,
        org_id=org_id,
        role=role,
        is_admin=is_admin,
        is_test=is_test,
    )
