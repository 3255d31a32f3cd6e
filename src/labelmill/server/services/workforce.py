"""Workforce pools, worker accounts and project staffing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from labelmill.server.errors import Conflict, NotFound
from labelmill.server.models import (
    Membership,
    PoolMember,
    Project,
    ProjectStaffing,
    User,
    WorkforcePool,
)
from labelmill.server.services import audit
from labelmill.server.services.auth import Principal, mint_key
from labelmill.server.services.pagination import Cursor, page_of
from labelmill.server.services.tenancy import create_user


def create_pool(
    *, session: Session, org_id: int | None, name: str, actor: Principal | None
) -> WorkforcePool:
    clash = session.scalar(
        select(WorkforcePool.id).where(
            WorkforcePool.name == name,
            WorkforcePool.org_id.is_(None) if org_id is None else WorkforcePool.org_id == org_id,
        )
    )
    if clash is not None:
        raise Conflict(f"pool {name!r} already exists")
    pool = WorkforcePool(org_id=org_id, name=name)
    session.add(pool)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=org_id,
        action="pool.create",
        object_type="pool",
        object_id=pool.id,
        data={"name": name},
    )
    return pool


def get_visible_pool(*, session: Session, org_id: int | None, pool_id: int) -> WorkforcePool:
    """A pool the organization may use: its own, or a platform pool (``org_id`` None)."""
    pool = session.get(WorkforcePool, pool_id)
    if pool is None or (pool.org_id is not None and pool.org_id != org_id):
        raise NotFound("Pool", pool_id)
    return pool


def get_own_pool(*, session: Session, org_id: int | None, pool_id: int) -> WorkforcePool:
    """A pool the caller may change: an organization's own (or, for the admin, a platform
    pool)."""
    pool = session.get(WorkforcePool, pool_id)
    if pool is None or pool.org_id != org_id:
        raise NotFound("Pool", pool_id)
    return pool


def get_pool_by_name(*, session: Session, org_id: int | None, name: str) -> WorkforcePool:
    pool = session.scalar(
        select(WorkforcePool).where(
            WorkforcePool.name == name,
            WorkforcePool.org_id.is_(None) if org_id is None else WorkforcePool.org_id == org_id,
        )
    )
    if pool is None:
        raise NotFound("Pool", name)
    return pool


def list_pools(
    *, session: Session, org_id: int | None, cursor: Cursor
) -> tuple[list[WorkforcePool], str | None]:
    query = select(WorkforcePool).where(
        or_(WorkforcePool.org_id == org_id, WorkforcePool.org_id.is_(None))
    )
    return page_of(session, query, WorkforcePool.id, cursor)


def _user_visible_to_org(session: Session, org_id: int | None, user_id: int) -> User:
    """Users an organization may put in its pools: ones it created and its own members.
    Anyone else is reported as not found, so ids of other tenants' people leak nothing."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User", user_id)
    if org_id is None:
        return user
    if user.created_by_org_id == org_id:
        return user
    is_member = session.scalar(
        select(exists().where(Membership.org_id == org_id, Membership.user_id == user_id))
    )
    if not is_member:
        raise NotFound("User", user_id)
    return user


def add_pool_member(
    *,
    session: Session,
    pool: WorkforcePool,
    user_id: int,
    annotator: bool,
    reviewer: bool,
    actor: Principal | None,
) -> PoolMember:
    user = _user_visible_to_org(session, pool.org_id, user_id)
    member = session.scalar(
        select(PoolMember).where(PoolMember.pool_id == pool.id, PoolMember.user_id == user.id)
    )
    if member is None:
        member = PoolMember(pool_id=pool.id, user_id=user.id)
        session.add(member)
    member.is_annotator = annotator
    member.is_reviewer = reviewer
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=pool.org_id,
        action="pool.member_add",
        object_type="pool",
        object_id=pool.id,
        data={"user_id": user.id},
    )
    return member


def remove_pool_member(
    *, session: Session, pool: WorkforcePool, user_id: int, actor: Principal | None
) -> None:
    result = session.execute(
        delete(PoolMember).where(PoolMember.pool_id == pool.id, PoolMember.user_id == user_id)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Pool member", user_id)
    audit.record(
        session=session,
        actor=actor,
        org_id=pool.org_id,
        action="pool.member_remove",
        object_type="pool",
        object_id=pool.id,
        data={"user_id": user_id},
    )


@dataclass(frozen=True, slots=True)
class CreatedWorker:
    user: User
    api_key: str


def create_worker(
    *,
    session: Session,
    org_id: int,
    name: str,
    email: str | None,
    pool: WorkforcePool | None,
    reviewer: bool,
    actor: Principal | None,
) -> CreatedWorker:
    """A worker account owned by the organization, with its key (returned once)."""
    email = email or f"worker-{secrets.token_hex(6)}@workers.labelmill.invalid"
    user = create_user(session=session, email=email, name=name, created_by_org_id=org_id)
    minted = mint_key(session=session, org_id=None, user_id=user.id, role=None, name=name)
    if pool is not None:
        add_pool_member(
            session=session,
            pool=pool,
            user_id=user.id,
            annotator=True,
            reviewer=reviewer,
            actor=actor,
        )
    audit.record(
        session=session,
        actor=actor,
        org_id=org_id,
        action="worker.create",
        object_type="user",
        object_id=user.id,
        data={"name": name},
    )
    return CreatedWorker(user=user, api_key=minted.secret)


def add_staffing(
    *, session: Session, project: Project, pool: WorkforcePool, actor: Principal | None
) -> ProjectStaffing:
    staffing = session.scalar(
        select(ProjectStaffing).where(
            ProjectStaffing.project_id == project.id, ProjectStaffing.pool_id == pool.id
        )
    )
    if staffing is None:
        staffing = ProjectStaffing(project_id=project.id, pool_id=pool.id)
        session.add(staffing)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            org_id=project.org_id,
            action="project.staff",
            object_type="project",
            object_id=project.id,
            data={"pool_id": pool.id},
        )
    return staffing


def remove_staffing(
    *, session: Session, project: Project, pool_id: int, actor: Principal | None
) -> None:
    result = session.execute(
        delete(ProjectStaffing).where(
            ProjectStaffing.project_id == project.id, ProjectStaffing.pool_id == pool_id
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Staffing", pool_id)
    audit.record(
        session=session,
        actor=actor,
        org_id=project.org_id,
        action="project.unstaff",
        object_type="project",
        object_id=project.id,
        data={"pool_id": pool_id},
    )


def staffed_projects(*, session: Session, user_id: int) -> list[Project]:
    query = (
        select(Project)
        .join(ProjectStaffing, ProjectStaffing.project_id == Project.id)
        .join(PoolMember, PoolMember.pool_id == ProjectStaffing.pool_id)
        .where(PoolMember.user_id == user_id, PoolMember.is_annotator.is_(True))
        .distinct()
        .order_by(Project.id)
    )
    return list(session.scalars(query))
