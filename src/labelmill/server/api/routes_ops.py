"""Background jobs and the audit log of the caller's organization."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from labelmill.schemas import AuditEventRead, JobRead, Page
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.policies import Permission, require
from labelmill.server.services import audit, jobs

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/jobs")
def list_jobs(
    principal: PrincipalDep,
    db: DbDep,
    cursor: CursorDep,
    kind: str | None = None,
    status: Literal["pending", "running", "done", "failed"] | None = None,
) -> Page[JobRead]:
    require(principal, Permission.READ)
    assert principal.org_id is not None
    with db.read_session() as session:
        rows, next_cursor = jobs.list_jobs(
            session=session, org_id=principal.org_id, cursor=cursor, kind=kind, status=status
        )
        return page(JobRead, rows, next_cursor)


@router.get("/audit")
def list_audit(
    principal: PrincipalDep, db: DbDep, cursor: CursorDep, action: str | None = None
) -> Page[AuditEventRead]:
    require(principal, Permission.MANAGE)
    assert principal.org_id is not None
    with db.read_session() as session:
        rows, next_cursor = audit.list_events(
            session=session, org_id=principal.org_id, cursor=cursor, action=action
        )
        return page(AuditEventRead, rows, next_cursor)
