"""The worker's side of the queue."""

from __future__ import annotations

import random

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from labelmill.schemas import (
    Heartbeat,
    LeasedTask,
    Page,
    Submission,
    SubmissionResult,
    WorkerProject,
)
from labelmill.server.api.deps import DbDep, PrincipalDep, presented_key
from labelmill.server.db.base import utcnow
from labelmill.server.policies import require_worker
from labelmill.server.services import file_links, queue, work, workforce

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


# The two routes every annotator calls in a loop are lean on purpose: they read the database
# and key straight from the request (no dependency solving) and return pre-encoded JSON (no
# second validation of the response); the OpenAPI schema is still declared. Their unit of
# work runs on the event loop on both databases: it never awaits, so the loop holds at most
# one open transaction, and the threads that run other routes' transactions never wait on
# the loop, so a lock wait here cannot turn into a deadlock. On PostgreSQL, concurrency comes
# from server processes (``serve --processes``); each call is one or two database round
# trips (``services/work_pg.py``), so the loop is blocked for little more than its own CPU.


def _json(payload: dict[str, object]) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@router.post(
    "/projects/{project_id}/next",
    response_model=LeasedTask,
    responses={204: {"description": "no task is available now"}},
)
async def next_task(project_id: int, request: Request) -> Response:
    lease = work.lease_next(
        request.app.state.db,
        secret=presented_key(request),
        project_id=project_id,
        now=utcnow(),
        rng=_rng,
    )
    if lease is None:
        return Response(status_code=204)
    data = lease.data
    if file_links.mentions_files(data):
        # Uploaded attachments (scaledata://) become links the worker's key may open.
        data = await run_in_threadpool(
            file_links.signed_view,
            request.app.state.db,
            data,
            project_id=lease.project_id,
            now=utcnow(),
        )
    return _json(
        {
            "assignment_id": lease.assignment_id,
            "task_id": lease.task_id,
            "project_id": lease.project_id,
            "task_type": lease.task_type,
            "data": data,
            "expires_at": lease.expires_at.isoformat(),
        }
    )


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


@router.post("/assignments/{assignment_id}/submit", response_model=SubmissionResult)
async def submit(assignment_id: int, body: Submission, request: Request) -> Response:
    result = work.submit(
        request.app.state.db,
        secret=presented_key(request),
        assignment_id=assignment_id,
        response=body.response,
        duration_ms=body.duration_ms,
        now=utcnow(),
        rng=_rng,
    )
    return _json(
        {"annotation_id": result.annotation_id, "task_id": result.task_id, "late": result.late}
    )
