"""``/v1/task`` and ``/v1/tasks``: Scale tasks are labelmill tasks (reference/scale_api.md
§2.1, §3, §5.2 rows 11-21).

Never a 409 on ``task/{id}``, ``task/{id}/cancel`` or ``task/{id}/tags``: the SDK reads the
request body of a 409 as an object there and crashes on ``None`` or a list (§1.5). The only
409s are a taken ``unique_id`` on create and on ``task/{id}/unique_id``, whose bodies are
objects holding ``unique_id`` (the SDK's recovery path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session

from labelmill.schemas.tasks import TaskCreate
from labelmill.server.db.engine import Database
from labelmill.server.errors import InvalidInput, NotFound
from labelmill.server.models import Task
from labelmill.server.policies import Permission, require
from labelmill.server.scale.routes_projects import org_of
from labelmill.server.scale.serialize import NATIVE_TO_SCALE, SCALE_TO_NATIVE
from labelmill.server.scale.task_types import ADAPTERS, COMMON_KEYS
from labelmill.server.scale.task_view import task_object
from labelmill.server.scale.transport import (
    MAX_PAGE,
    BodyDep,
    DbDep,
    NotEnabled,
    PrincipalDep,
    body_str,
    details_text,
    query_bool,
    query_int,
    query_last,
    query_time,
    query_values,
)
from labelmill.server.services import projects, scale_tasks
from labelmill.server.services import scale as scale_service
from labelmill.server.services.auth import Principal

router = APIRouter()

_TASK_STATUSES = ("pending", "completed", "canceled", "error")


def _native_problem(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return InvalidInput(f"{where}: {first.get('msg', 'invalid')}")


def _creation_spec(body: dict[str, Any], native_params: dict[str, Any]) -> TaskCreate:
    metadata = body.get("metadata")
    tags = body.get("tags")
    unique_id = body.get("unique_id")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInput("metadata: must be an object")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        raise InvalidInput("tags: must be a list of strings")
    if unique_id is not None and (not isinstance(unique_id, str) or not unique_id):
        raise InvalidInput("unique_id: must be a non-empty string")
    scale_tasks.check_metadata_size(metadata or {})
    fields: dict[str, Any] = {
        "params": native_params,
        "unique_id": unique_id,
        "metadata": metadata or {},
        "tags": list(dict.fromkeys(tags or [])),
        "callback_url": body_str(body, "callback_url", required=False),
    }
    if "priority" in body and body["priority"] is not None:
        fields["priority"] = body["priority"]
    try:
        return TaskCreate.model_validate(fields)
    except ValidationError as exc:
        raise _native_problem(exc) from None


def _scale_request(body: dict[str, Any], scale_type: str, params: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"type": scale_type, "params": params}
    for key in ("instruction", "urgency", "clear_unique_id_on_error"):
        if body.get(key) is not None:
            request[key] = body[key]
    if request.get("instruction") is not None and not isinstance(request["instruction"], str):
        raise InvalidInput("instruction: must be a string")
    return request


def _params_problem(message: str) -> InvalidInput:
    """labelmill's creation errors name ``tasks.0.params.<field>``; a Scale client sent a
    single task whose params are top-level keys."""
    return InvalidInput(message.replace("tasks.0.params.", "params.").replace("tasks.0.", ""))


@router.post("/task/{task_type}")
def create_task(
    task_type: str, body: BodyDep, principal: PrincipalDep, db: DbDep
) -> dict[str, Any]:
    require(principal, Permission.MANAGE)
    org_id = org_of(principal)
    adapter = ADAPTERS.get(task_type)
    if adapter is None:
        known = ", ".join(sorted(ADAPTERS))
        raise NotEnabled(f"task type {task_type!r} is not supported here; supported: {known}")
    version = body.get("project_version")
    if version not in (None, -1) and not isinstance(version, int):
        raise InvalidInput("project_version: must be an integer")
    with db.write_session() as session:
        project, batch = scale_tasks.target_of(
            session=session,
            org_id=org_id,
            project_name=body_str(body, "project", required=False),
            batch_name=body_str(body, "batch", required=False),
        )
        scale_tasks.check_target(
            project=project,
            native_type=adapter.native_name,
            requested=task_type,
            project_version=version,
        )
        specific = {k: v for k, v in body.items() if k not in COMMON_KEYS}
        translated = adapter.create(specific, project.params)
        spec = _creation_spec(body, translated.native_params)
        try:
            task = scale_tasks.create_task(
                session=session,
                project=project,
                batch=batch,
                spec=spec,
                scale_request=_scale_request(body, task_type, translated.scale_params),
                actor=principal,
            )
        except InvalidInput as exc:
            raise _params_problem(details_text(exc) or exc.message) from None
        return task_object(session, task)


@router.get("/task/{task_id}")
def get_task(task_id: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.read_session() as session:
        task = scale_tasks.task_by_scale_id(session=session, org_id=org_id, task_id=task_id)
        require(principal, Permission.READ)
        return task_object(session, task)


def _task_query(request: Request, session: Session, org_id: int) -> scale_tasks.TaskQuery:
    statuses = query_values(request, "status")
    unknown = sorted(set(statuses) - set(_TASK_STATUSES))
    if unknown:
        raise InvalidInput(f"status: unknown task status {unknown[0]!r}")
    types = query_values(request, "type")
    native_types = []
    for name in types:
        if name not in SCALE_TO_NATIVE and name not in NATIVE_TO_SCALE:
            raise InvalidInput(f"type: unknown task type {name!r}")
        native_types.append(SCALE_TO_NATIVE.get(name, name))
    reviews = query_values(request, "customer_review_status")
    unknown = sorted(set(reviews) - set(scale_tasks.AUDIT_STATUSES))
    if unknown:
        raise InvalidInput(f"customer_review_status: unknown value {unknown[0]!r}")
    project_id: int | None = None
    batch_id: int | None = None
    project_name = query_last(request, "project")
    if project_name:
        try:
            project_id = projects.get_project_by_name(
                session=session, org_id=org_id, name=project_name
            ).id
        except NotFound:
            raise InvalidInput(f"project: no project named {project_name!r}") from None
    batch_name = query_last(request, "batch")
    if batch_name:
        try:
            batch, _ = scale_service.batch_by_name(session=session, org_id=org_id, name=batch_name)
        except NotFound:
            raise InvalidInput(f"batch: no batch named {batch_name!r}") from None
        batch_id = batch.id

    def time(name: str) -> Any:
        return query_time(request, name)

    return scale_tasks.TaskQuery(
        org_id=org_id,
        project_id=project_id,
        batch_id=batch_id,
        statuses=statuses,
        task_types=native_types,
        created_after=time("start_time") or time("created_after"),
        created_before=time("end_time") or time("created_before"),
        completed_after=time("completed_after"),
        completed_before=time("completed_before"),
        updated_after=time("updated_after"),
        updated_before=time("updated_before"),
        review_statuses=reviews,
        # unique ids may hold commas: repeated keys only, never split.
        unique_ids=request.query_params.getlist("unique_id"),
        tags=request.query_params.getlist("tags"),
    )


@router.get("/tasks")
def list_tasks(request: Request, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    require(principal, Permission.READ)
    org_id = org_of(principal)
    limit = query_int(request, "limit", MAX_PAGE, low=1, high=MAX_PAGE)
    limited = query_bool(request, "limited_response", False)
    # Attachments are the URLs the customer gave (or scaledata:// files served by
    # labelmill); there is nothing to pre-sign, so the flag is parsed and changes nothing.
    query_bool(request, "include_attachment_url", False)
    token = query_last(request, "next_token") or None
    with db.read_session() as session:
        query = _task_query(request, session, org_id)
        page = scale_tasks.list_tasks(session=session, query=query, limit=limit, token=token)
        by_project, batch_names = scale_tasks.names_of(session=session, items=page.tasks)
        docs = [
            task_object(
                session,
                task,
                project=by_project[task.project_id],
                batch_name=batch_names.get(task.batch_id),
                limited=limited,
            )
            for task in page.tasks
        ]
    return {
        "docs": docs,
        "total": page.total,
        "limit": limit,
        "offset": 0,
        "has_more": page.next_token is not None,
        "next_token": page.next_token,
    }


def _change(
    db: Database,
    principal: Principal,
    task_id: str,
    change: Callable[[Session, Task], object],
) -> dict[str, Any]:
    """Look the task up (404 for foreign ids before any permission check, DESIGN §4.6),
    apply ``change(session, task)`` and answer the task as it now is."""
    org_id = org_of(principal)
    with db.write_session() as session:
        task = scale_tasks.task_by_scale_id(
            session=session, org_id=org_id, task_id=task_id, lock=True
        )
        require(principal, Permission.MANAGE)
        change(session, task)
        return task_object(session, task)


@router.post("/task/{task_id}/cancel")
def cancel_task(
    task_id: str, request: Request, principal: PrincipalDep, db: DbDep
) -> dict[str, Any]:
    clear = query_bool(request, "clear_unique_id", False)
    return _change(
        db,
        principal,
        task_id,
        lambda session, task: scale_tasks.cancel(
            session=session, task=task, clear_unique_id=clear, actor=principal
        ),
    )


@router.post("/task/{task_id}/setMetadata")
def set_task_metadata(
    task_id: str, body: BodyDep, principal: PrincipalDep, db: DbDep
) -> dict[str, Any]:
    scale_tasks.check_metadata_size(body)
    return _change(
        db,
        principal,
        task_id,
        lambda session, task: scale_tasks.set_metadata(
            session=session, task=task, metadata=body, actor=principal
        ),
    )


async def _tag_list(request: Request) -> list[str]:
    """The tag endpoints' body: a bare JSON array of strings; no body is ``[]`` (the SDK
    drops empty bodies)."""
    raw = await request.body()
    if not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("request body is not valid JSON") from None
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise InvalidInput("tags: the body must be a JSON array of non-empty strings")
    return value


def _tags_route(mode: str) -> Any:
    async def route(
        task_id: str, request: Request, principal: PrincipalDep, db: DbDep
    ) -> dict[str, Any]:
        tags = await _tag_list(request)
        # The database work runs in the thread pool, as the synchronous routes' does.
        return await run_in_threadpool(
            _change,
            db,
            principal,
            task_id,
            lambda session, task: scale_tasks.set_tags(
                session=session, task=task, tags=tags, mode=mode, actor=principal
            ),
        )

    return route


router.add_api_route("/task/{task_id}/tags", _tags_route("replace"), methods=["POST"])
router.add_api_route("/task/{task_id}/tags", _tags_route("add"), methods=["PUT"])
router.add_api_route("/task/{task_id}/tags", _tags_route("remove"), methods=["DELETE"])


@router.post("/task/{task_id}/unique_id")
def update_unique_id(
    task_id: str, body: BodyDep, principal: PrincipalDep, db: DbDep
) -> dict[str, Any]:
    unique_id = body_str(body, "unique_id", required=True)
    return _change(
        db,
        principal,
        task_id,
        lambda session, task: scale_tasks.set_unique_id(
            session=session, task=task, unique_id=unique_id, actor=principal
        ),
    )


@router.delete("/task/{task_id}/unique_id")
def clear_unique_id(task_id: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    return _change(
        db,
        principal,
        task_id,
        lambda session, task: scale_tasks.set_unique_id(
            session=session, task=task, unique_id=None, actor=principal
        ),
    )


@router.post("/task/{task_id}/audit")
def audit_task(task_id: str, body: BodyDep, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    accepted = body.get("accepted")
    if not isinstance(accepted, bool):
        raise InvalidInput("accepted: required, true or false")
    comments = body.get("comments")
    if comments is not None and not isinstance(comments, str):
        raise InvalidInput("comments: must be a string")
    return _change(
        db,
        principal,
        task_id,
        lambda session, task: scale_tasks.record_audit(
            session=session, task=task, accepted=accepted, comments=comments, actor=principal
        ),
    )
