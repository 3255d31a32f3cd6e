"""The worker's side of the queue."""

from __future__ import annotations

import random

from fastapi import APIRouter, Response

from labelmill.schemas import (
    Heartbeat,
    LeasedTask,
    Page,
    Submission,
    SubmissionResult,
    WorkerProject,
)
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.db.base import utcnow
from labelmill.server.policies import require_worker
from labelmill.server.services import queue, submissions, workforce

router = APIRouter(prefix="/api/work", tags=["work"])
_rng = random.SystemRandom()


@router.get("/projects")
def work_projects(principal: PrincipalDep, db: DbDep) -> Page[WorkerProject]:
    worker_id = require_worker(principal)
    with db.read_session() as session:
        rows = workforce.staffed_projects(session=session, user_id=worker_id)
        return Page[WorkerProject](
            data=[
                WorkerProject(
                    id=p.id,
                    name=p.name,
                    task_type=p.task_type,
                    instruction=str(p.params.get("instruction", "")),
                )
                for p in rows
            ]
        )


@router.post(
    "/projects/{project_id}/next",
    response_model=LeasedTask,
    responses={204: {"description": "no task is available now"}},
)
async def next_task(project_id: int, principal: PrincipalDep, db: DbDep) -> LeasedTask | Response:
    worker_id = require_worker(principal)
    with db.write_session() as session:
        project = queue.work_project(session=session, project_id=project_id, worker_id=worker_id)
        lease = queue.next_task(
            session=session,
            project=project,
            worker_id=worker_id,
            now=utcnow(),
            rng=_rng,
            lock_rows=db.is_postgres,
        )
    if lease is None:
        return Response(status_code=204)
    return LeasedTask.model_validate(lease)


@router.post("/assignments/{assignment_id}/heartbeat")
def heartbeat(assignment_id: int, principal: PrincipalDep, db: DbDep) -> Heartbeat:
    worker_id = require_worker(principal)
    with db.write_session() as session:
        expires_at = queue.heartbeat(
            session=session, assignment_id=assignment_id, worker_id=worker_id, now=utcnow()
        )
    return Heartbeat(assignment_id=assignment_id, expires_at=expires_at)


@router.post("/assignments/{assignment_id}/skip", status_code=204)
def skip(assignment_id: int, principal: PrincipalDep, db: DbDep) -> Response:
    worker_id = require_worker(principal)
    with db.write_session() as session:
        queue.skip(session=session, assignment_id=assignment_id, worker_id=worker_id, now=utcnow())
    return Response(status_code=204)


@router.post("/assignments/{assignment_id}/submit")
async def submit(
    assignment_id: int, body: Submission, principal: PrincipalDep, db: DbDep
) -> SubmissionResult:
    worker_id = require_worker(principal)
    with db.write_session() as session:
        result = submissions.submit(
            session=session,
            assignment_id=assignment_id,
            worker_id=worker_id,
            response=body.response,
            duration_ms=body.duration_ms,
            now=utcnow(),
        )
    return SubmissionResult(
        annotation_id=result.annotation_id, task_id=result.task_id, late=result.late
    )
