"""Organizations, users, memberships and keys (mostly driven by the CLI)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.errors import Conflict, InvalidInput, NotFound
from labelmill.server.models import ApiKey, Membership, Organization, User
from labelmill.server.models.tenancy import ORG_ROLES
from labelmill.server.services import audit
from labelmill.server.services.auth import MintedKey, Principal, mint_key

_hasher = PasswordHasher()


def create_org(*, session: Session, name: str, actor: Principal | None = None) -> Organization:
    name = name.strip()
    if not name:
        raise InvalidInput("organization name must not be blank")
    if session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise Conflict(f"organization {name!r} already exists")
    org = Organization(name=name, callback_secret=secrets.token_urlsafe(32))
    session.add(org)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=org.id,
        action="org.create",
        object_type="organization",
        object_id=org.id,
        data={"name": name},
    )
    return org


def get_org_by_name(*, session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound("Organization", name)
    return org


def list_orgs(*, session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.id)))


def create_user(
    *,
    session: Session,
    email: str,
    name: str,
    password: str | None = None,
    is_admin: bool = False,
    created_by_org_id: int | None = None,
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"email {email!r} is not an email address")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"user {email!r} already exists")
    user = User(
        email=email,
        name=name,
        password_hash=_hasher.hash(password) if password else None,
        is_admin=is_admin,
        created_by_org_id=created_by_org_id,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_email(*, session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound("User", email)
    return user


def add_member(*, session: Session, org: Organization, user: User, role: str) -> Membership:
    if role not in ORG_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ORG_ROLES)}")
    existing = session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if existing is not None:
        existing.role = role
        return existing
    membership = Membership(org_id=org.id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    return membership


@dataclass(frozen=True, slots=True)
class KeyRequest:
    org: Organization | None
    user: User | None
    role: str | None
    is_test: bool
    name: str


def create_key(*, session: Session, request: KeyRequest, actor: Principal | None) -> MintedKey:
    """An organization key (``org``, optionally on behalf of a member ``user``) or a worker
    key (``user`` only)."""
    if request.org is None and request.user is None:
        raise InvalidInput("a key needs an organization, a user, or both")
    role = request.role
    if request.org is not None and request.user is None:
        role = role or "owner"
        if role not in ORG_ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ORG_ROLES)}")
    elif request.org is not None and request.user is not None:
        member = session.scalar(
            select(Membership.id).where(
                Membership.org_id == request.org.id, Membership.user_id == request.user.id
            )
        )
        if member is None:
            raise InvalidInput(f"user {request.user.email} is not a member of {request.org.name}")
        role = None
    minted = mint_key(
        session=session,
        org_id=request.org.id if request.org else None,
        user_id=request.user.id if request.user else None,
        role=role,
        is_test=request.is_test,
        name=request.name,
    )
    audit.record(
        session=session,
        actor=actor,
        org_id=request.org.id if request.org else None,
        action="key.create",
        object_type="api_key",
        object_id=minted.key.id,
        data={"prefix": minted.key.prefix, "test": request.is_test},
    )
    return minted


def revoke_key(*, session: Session, prefix: str) -> ApiKey:
    from labelmill.server.db.base import utcnow

    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound("API key", prefix)
    key.revoked_at = utcnow()
    return key


def list_keys(*, session: Session, org_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if org_id is not None:
        query = query.where(ApiKey.org_id == org_id)
    return list(session.scalars(query))


def list_members(*, session: Session, org_id: int) -> list[tuple[User, str]]:
    """The organization's members (people, not service keys or pool workers) with their
    roles, in the order they joined."""
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(Membership.id)
    ).all()
    return [(user, str(role)) for user, role in rows]
