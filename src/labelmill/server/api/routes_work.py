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
from labelmill.server.api.deps import DbDep, PrincipalDep, SecretDep, run_unit
from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.policies import require_worker
from labelmill.server.services import queue, submissions, workforce
from labelmill.server.services.auth import authenticate

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


def _lease_next(db: Database, secret: str, project_id: int) -> queue.Lease | None:
    # Authentication shares the unit of work: one connection and one transaction per call.
    with db.write_session() as session:
        worker_id = require_worker(authenticate(session=session, secret=secret))
        project = queue.work_project(session=session, project_id=project_id, worker_id=worker_id)
        return queue.next_task(
            session=session,
            project=project,
            worker_id=worker_id,
            now=utcnow(),
            rng=_rng,
            lock_rows=db.is_postgres,
        )


@router.post(
    "/projects/{project_id}/next",
    response_model=LeasedTask,
    responses={204: {"description": "no task is available now"}},
)
async def next_task(project_id: int, secret: SecretDep, db: DbDep) -> LeasedTask | Response:
    lease = await run_unit(db, _lease_next, db, secret, project_id)
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


def _submit(
    db: Database, secret: str, assignment_id: int, body: Submission
) -> submissions.Submitted:
    with db.write_session() as session:
        worker_id = require_worker(authenticate(session=session, secret=secret))
        return submissions.submit(
            session=session,
            assignment_id=assignment_id,
            worker_id=worker_id,
            response=body.response,
            duration_ms=body.duration_ms,
            now=utcnow(),
        )


@router.post("/assignments/{assignment_id}/submit")
async def submit(
    assignment_id: int, body: Submission, secret: SecretDep, db: DbDep
) -> SubmissionResult:
    result = await run_unit(db, _submit, db, secret, assignment_id, body)
    return SubmissionResult(
        annotation_id=result.annotation_id, task_id=result.task_id, late=result.late
    )
