"""Tasks: bulk creation, reading, filtering, updating, cancelling; project export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from labelmill.schemas import (
    AnnotationRead,
    DatasetCreate,
    ExistingTask,
    Page,
    TaskBulkCreate,
    TaskBulkResult,
    TaskRead,
    TaskUpdate,
)
from labelmill.server.api import routes_datasets
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.db.engine import Database
from labelmill.server.errors import ErrorDetail, InvalidInput, Malformed
from labelmill.server.policies import Permission, require
from labelmill.server.services import datasets, projects, tasks
from labelmill.server.services.auth import Principal

router = APIRouter(prefix="/api", tags=["tasks"])
_BULK = TypeAdapter(TaskBulkCreate)


def _parse_bulk(raw: bytes) -> TaskBulkCreate:
    """Validate straight from bytes with pydantic-core's parser: a 10,000-task body is parsed
    several times faster than through ``json.loads`` and then validated."""
    try:
        return _BULK.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise Malformed("request body is not valid JSON") from None
        details = [ErrorDetail(tuple(e["loc"]), str(e["msg"])) for e in errors[:1000]]
        first = details[0]
        raise InvalidInput(
            f"{'.'.join(map(str, first.loc))}: {first.message}; nothing was created",
            details=details,
        ) from None


def _create_tasks(
    db: Database, principal: Principal, project_id: int, raw: bytes
) -> TaskBulkResult:
    with db.write_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.MANAGE)
        body = _parse_bulk(raw)
        result = tasks.create_tasks(
            session=session,
            project=project,
            specs=body.tasks,
            batch_id=body.batch_id,
            max_tasks=db.settings.max_tasks_per_request,
            actor=principal,
        )
    return TaskBulkResult(
        created=len(result.task_ids),
        task_ids=result.task_ids,
        existing=[
            ExistingTask(index=e.index, unique_id=e.unique_id, task_id=e.task_id)
            for e in result.existing
        ],
    )


@router.post(
    "/projects/{project_id}/tasks",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BULK.json_schema()}},
        }
    },
)
async def create_tasks(
    project_id: int, request: Request, principal: PrincipalDep, db: DbDep
) -> TaskBulkResult:
    """Create up to 10,000 tasks atomically."""
    raw = await request.body()
    return await run_in_threadpool(_create_tasks, db, principal, project_id, raw)


@router.get("/projects/{project_id}/tasks")
def list_tasks(
    project_id: int,
    principal: PrincipalDep,
    db: DbDep,
    cursor: CursorDep,
    status: Literal["pending", "completed", "canceled", "error"] | None = None,
    batch_id: int | None = None,
    tag: str | None = None,
    unique_id: str | None = None,
    is_gold: bool | None = None,
) -> Page[TaskRead]:
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        flt = tasks.TaskFilter(
            status=status, batch_id=batch_id, tag=tag, unique_id=unique_id, is_gold=is_gold
        )
        rows, next_cursor = tasks.list_tasks(
            session=session, project=project, flt=flt, cursor=cursor
        )
        return page(TaskRead, rows, next_cursor)


@router.get("/tasks/{task_id}")
def get_task(task_id: int, principal: PrincipalDep, db: DbDep) -> TaskRead:
    with db.read_session() as session:
        task = tasks.get_task(session=session, org_id=principal.org_id, task_id=task_id)
        require(principal, Permission.READ)
        return TaskRead.model_validate(task)


@router.patch("/tasks/{task_id}")
def update_task(task_id: int, body: TaskUpdate, principal: PrincipalDep, db: DbDep) -> TaskRead:
    with db.write_session() as session:
        task = tasks.lock_task(session=session, org_id=principal.org_id, task_id=task_id)
        require(principal, Permission.MANAGE)
        task = tasks.update_task(session=session, task=task, spec=body, actor=principal)
        return TaskRead.model_validate(task)


@router.post("/tasks/{task_id}/cancel")
def cancel_task(task_id: int, principal: PrincipalDep, db: DbDep) -> TaskRead:
    with db.write_session() as session:
        task = tasks.lock_task(session=session, org_id=principal.org_id, task_id=task_id)
        require(principal, Permission.MANAGE)
        task = tasks.cancel_task(session=session, task=task, actor=principal)
        return TaskRead.model_validate(task)


@router.get("/tasks/{task_id}/annotations")
def list_annotations(
    task_id: int, principal: PrincipalDep, db: DbDep, cursor: CursorDep
) -> Page[AnnotationRead]:
    with db.read_session() as session:
        task = tasks.get_task(session=session, org_id=principal.org_id, task_id=task_id)
        require(principal, Permission.READ)
        rows, next_cursor = tasks.list_annotations(session=session, task=task, cursor=cursor)
        return page(AnnotationRead, rows, next_cursor)


@router.get("/projects/{project_id}/export", tags=["export"])
def export_project(
    project_id: int,
    principal: PrincipalDep,
    db: DbDep,
    format: Annotated[
        str,
        Query(
            min_length=1,
            max_length=50,
            description="jsonl, csv, or a format registered for the project's type",
        ),
    ] = "jsonl",
    status: Annotated[Literal["completed", "all"], Query()] = "completed",
    include_gold: bool = False,
    batch_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    options: Annotated[
        str | None, Query(description="the format's options as a JSON object")
    ] = None,
) -> StreamingResponse:
    """Export the project's results, recorded as a dataset snapshot (its id is in the
    ``X-Labelmill-Dataset-Id`` header): the file is stored first, then streamed from the
    store. Memory stays bounded for any project size."""
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        request = DatasetCreate(
            format=format,
            options=datasets.parse_options(options),
            status=status,
            include_gold=include_gold,
            batch_id=batch_id,
        )
        spec = datasets.export_spec(session=session, project=project, request=request)
    dataset = datasets.create_snapshot(db=db, project=project, spec=spec, actor=principal)
    return routes_datasets.file_response(db, dataset)
