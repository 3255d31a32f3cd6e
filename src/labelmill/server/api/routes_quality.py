"""A project's quality report: agreement, task progress, per-worker quality."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelmill.schemas import QualityReport
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.policies import Permission, require
from labelmill.server.services import projects, quality_report

router = APIRouter(prefix="/api", tags=["quality"])


@router.get("/projects/{project_id}/quality")
def project_quality(
    project_id: int,
    principal: PrincipalDep,
    db: DbDep,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=quality_report.MAX_WORKER_LIMIT,
            description="rows of the worker table (most answers first), 1..1000",
        ),
    ] = quality_report.DEFAULT_WORKER_LIMIT,
) -> QualityReport:
    # A worker's key is refused whatever the id (403 says nothing about the project).
    require(principal, Permission.READ)
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        return quality_report.project_report(session=session, project=project, worker_limit=limit)
