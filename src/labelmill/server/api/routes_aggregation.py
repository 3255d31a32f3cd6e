"""Project-wide re-aggregation: request the job, read the answers it revised."""

from __future__ import annotations

from fastapi import APIRouter

from labelmill.schemas import JobRead, Page
from labelmill.schemas.revisions import AggregateRequest, AnswerRevisionRead
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.policies import Permission, require
from labelmill.server.services import projects, reaggregation

router = APIRouter(prefix="/api", tags=["quality"])


@router.post("/projects/{project_id}/aggregate", status_code=202)
def aggregate_project(
    project_id: int, body: AggregateRequest, principal: PrincipalDep, db: DbDep
) -> JobRead:
    """Queue a re-aggregation of every answer of the project (a background job)."""
    with db.write_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.MANAGE)
        job = reaggregation.request(
            session=session, project=project, method=body.method, actor=principal
        )
        return JobRead.model_validate(job)


@router.get("/projects/{project_id}/revisions")
def list_revisions(
    project_id: int, principal: PrincipalDep, db: DbDep, cursor: CursorDep
) -> Page[AnswerRevisionRead]:
    """Completed answers changed by re-aggregation, with the values they replaced."""
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        rows, next_cursor = reaggregation.list_revisions(
            session=session, project=project, cursor=cursor
        )
        return page(AnswerRevisionRead, rows, next_cursor)
