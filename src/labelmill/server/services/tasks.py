"""Tasks: atomic bulk creation with idempotency, reading, filtering, updating, cancelling."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Select, func, select, text, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from labelmill.schemas.tasks import TaskCreate, TaskUpdate
from labelmill.server.db.base import utcnow
from labelmill.server.errors import (
    Conflict,
    ErrorCollector,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from labelmill.server.models import Annotation, Batch, Project, Task
from labelmill.server.services import audit, batches, callbacks, maintenance
from labelmill.server.services.auth import Principal
from labelmill.server.services.bulk_insert import insert_tasks
from labelmill.server.services.pagination import Cursor, page_of
from labelmill.server.services.projects import task_type_of
from labelmill.tasktypes import ParamsError, TaskType

_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ExistingTaskRef:
    index: int
    unique_id: str
    task_id: int


@dataclass(slots=True)
class BulkResult:
    task_ids: list[int] = field(default_factory=list)
    existing: list[ExistingTaskRef] = field(default_factory=list)


def _target_batch(session: Session, project: Project, batch_id: int | None) -> Batch:
    if batch_id is None:
        return batches.default_batch(session=session, project=project)
    batch = batches.get_batch(session=session, org_id=project.org_id, batch_id=batch_id)
    if batch.project_id != project.id:
        raise NotFound("Batch", batch_id)
    if batch.status == "completed":
        raise Conflict(f"batch {batch.id} is completed; create a new batch for more tasks")
    return batch


_EXISTING_PG = text("SELECT unique_id, id FROM task WHERE org_id = :org AND unique_id = ANY(:ids)")


def _existing_unique_ids(session: Session, org_id: int, unique_ids: list[str]) -> dict[str, int]:
    """Which of ``unique_ids`` already name a task of the organization."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # One array parameter: an IN list of hundreds of parameters is planned anew each
        # time and cost ~50 ms per 500 ids; ANY(array) looks up 10,000 in ~90 ms.
        rows = conn.execute(_EXISTING_PG, {"org": org_id, "ids": unique_ids})
        return {str(uid): int(tid) for uid, tid in rows}
    found: dict[str, int] = {}
    for start in range(0, len(unique_ids), _LOOKUP_CHUNK):
        chunk = unique_ids[start : start + _LOOKUP_CHUNK]
        rows = conn.execute(
            select(Task.unique_id, Task.id).where(Task.org_id == org_id, Task.unique_id.in_(chunk))
        )
        found.update({str(uid): int(tid) for uid, tid in rows})
    return found


# Columns of a new task that differ from task to task, in the order ``_encode_row`` gives.
_ROW_COLUMNS = [
    "params",
    "metadata",
    "tags",
    "unique_id",
    "priority",
    "is_gold",
    "gold_answer",
    "callback_url",
]


def _json_text(value: object, loc: tuple[str | int, ...], errors: ErrorCollector) -> str | None:
    """``value`` as JSON text for the database. PostgreSQL cannot store NUL characters, so
    they are refused on every database (behaviour must not depend on the backend); the
    encoded text holds one exactly when it contains the escape ``\\u0000``."""
    if value is None:
        return None
    try:
        text_value = orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        errors.add(loc, f"cannot be stored: {exc}")
        return None
    # The substring also appears for an escaped backslash followed by "u0000" in user
    # text, so a hit is confirmed on the value itself (rare; the common case stays fast).
    if "\\u0000" in text_value and _has_nul(value):
        errors.add(loc, "text must not contain NUL characters")
    return text_value


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _encode_row(
    spec: TaskCreate,
    params: dict[str, Any],
    gold: dict[str, Any] | None,
    index: int,
    errors: ErrorCollector,
) -> tuple[Any, ...]:
    """The task's varying columns, ready for the driver (see ``_ROW_COLUMNS``)."""
    if spec.unique_id is not None and "\x00" in spec.unique_id:
        errors.add(("tasks", index, "unique_id"), "text must not contain NUL characters")
    return (
        _json_text(params, ("tasks", index, "params"), errors),
        _json_text(spec.metadata, ("tasks", index, "metadata"), errors),
        _json_text(spec.tags, ("tasks", index, "tags"), errors),
        spec.unique_id,
        spec.priority,
        gold is not None,
        _json_text(gold, ("tasks", index, "gold_answer"), errors),
        spec.callback_url,
    )


def _validated_row(
    task_type: TaskType,
    project: Project,
    spec: TaskCreate,
    index: int,
    errors: ErrorCollector,
    *,
    test_mode: bool = False,
) -> tuple[Any, ...]:
    """The task's encoded row (``_ROW_COLUMNS``, then the response in test mode); problems go
    to ``errors`` by index."""
    params: dict[str, Any] = {}
    gold: dict[str, Any] | None = None
    try:
        params = task_type.validate_task_params(spec.params, project.params)
    except ParamsError as exc:
        for loc, msg in exc.problems:
            errors.add(("tasks", index, "params", *loc), msg)
    else:
        if spec.gold_answer is not None:
            try:
                gold = task_type.validate_response(spec.gold_answer, project.params, params)
            except ParamsError as exc:
                for loc, msg in exc.problems:
                    errors.add(("tasks", index, "gold_answer", *loc), msg)
    row = _encode_row(spec, params, gold, index, errors)
    if not test_mode:
        return row
    placeholder = task_type.placeholder_response(project.params, params) if params else None
    return (*row, _json_text(placeholder, ("tasks", index, "params"), errors))


def _repeated_unique_ids(specs: Sequence[TaskCreate], errors: ErrorCollector) -> list[str]:
    """The request's unique ids; a repeat within the request is an error at its index."""
    seen: dict[str, int] = {}
    for index, spec in enumerate(specs):
        if spec.unique_id is None:
            continue
        first = seen.setdefault(spec.unique_id, index)
        if first != index:
            errors.add(
                ("tasks", index, "unique_id"),
                f"unique_id {spec.unique_id!r} repeats task {first} of this request",
            )
    return list(seen)


def create_tasks(
    *,
    session: Session,
    project: Project,
    specs: Sequence[TaskCreate],
    batch_id: int | None,
    max_tasks: int,
    actor: Principal | None,
) -> BulkResult:
    """Create tasks atomically: any invalid task rejects all, naming every bad index.

    Tasks created with a test key (``actor.is_test``, as in Scale's test mode) are completed
    at once with their type's placeholder answer and marked ``is_test``: a client can try its
    whole pipeline, export and callbacks included (a ``completed`` callback is queued for each
    task with a ``callback_url``), without a workforce. They carry no confidence (nobody
    judged them).

    A task whose ``unique_id`` already exists in the organization is not created again; it
    is reported in ``existing`` so a client can safely retry an import.

    Rows are validated as they are handed to the database: on PostgreSQL the server stores
    rows (``COPY``) while the next ones are validated, on the other core. A bad row stops
    the writing, validation still runs to the end to name every bad index, and the error
    then aborts the statement and the transaction, so nothing is created.
    """
    if len(specs) > max_tasks:
        raise PayloadTooLarge(f"at most {max_tasks} tasks per request, got {len(specs)}")
    if not specs:
        raise InvalidInput("tasks must not be empty")
    batch = _target_batch(session, project, batch_id)
    errors = ErrorCollector()
    unique_ids = _repeated_unique_ids(specs, errors)
    existing = _existing_unique_ids(session, project.org_id, unique_ids) if unique_ids else {}
    result = BulkResult()
    new_indexes: list[int] = []
    for index, spec in enumerate(specs):
        if spec.unique_id is not None and spec.unique_id in existing:
            result.existing.append(ExistingTaskRef(index, spec.unique_id, existing[spec.unique_id]))
        else:
            new_indexes.append(index)
    task_type = task_type_of(project.task_type)
    test_mode = actor is not None and actor.is_test

    def rows() -> Iterator[tuple[Any, ...]]:
        new = iter(new_indexes)
        next_new = next(new, None)
        for index, spec in enumerate(specs):
            row = _validated_row(task_type, project, spec, index, errors, test_mode=test_mode)
            if index == next_new:
                next_new = next(new, None)
                if not errors.details:
                    yield row
        errors.raise_if_any(f"{len(errors.details)} problem(s) in tasks; nothing was created")

    if not new_indexes:
        for _ in rows():  # nothing to store, but the request must still be valid
            pass
        return result
    now = utcnow()
    shared = {
        "org_id": project.org_id,
        "project_id": project.id,
        "batch_id": batch.id,
        "project_version": project.params_version,
        "al_score": 0.0,
        "status": "pending",
        "label_target": project.min_labels,
        "n_annotations": 0,
        "open_leases": 0,
        "created_at": now,
        "updated_at": now,
    }
    columns = _ROW_COLUMNS
    if test_mode:
        shared.update(status="completed", completed_at=now, label_target=0, is_test=True)
        columns = [*_ROW_COLUMNS, "response"]
    result.task_ids = insert_tasks(
        session.connection(), shared, columns, rows(), count=len(new_indexes)
    )
    if test_mode:
        callbacks.enqueue_task_event(
            session,
            [
                callbacks.CallbackTarget(task_id, project.org_id)
                for index, task_id in zip(new_indexes, result.task_ids, strict=True)
                if specs[index].callback_url is not None
            ],
            "completed",
        )
        batches.settle_batch(session=session, batch_id=batch.id)
    maintenance.request_analyze(session=session, rows_added=len(new_indexes))
    audit.record(
        session=session,
        actor=actor,
        org_id=project.org_id,
        action="tasks.create",
        object_type="batch",
        object_id=batch.id,
        data={"count": len(new_indexes)},
    )
    return result


def get_task(*, session: Session, org_id: int | None, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.org_id != org_id:
        raise NotFound("Task", task_id)
    return task


@dataclass(frozen=True, slots=True)
class TaskFilter:
    status: str | None = None
    batch_id: int | None = None
    tag: str | None = None
    unique_id: str | None = None
    is_gold: bool | None = None


def _filtered(query: Select[Task], flt: TaskFilter, dialect: str) -> Select[Task]:
    if flt.status is not None:
        query = query.where(Task.status == flt.status)
    if flt.batch_id is not None:
        query = query.where(Task.batch_id == flt.batch_id)
    if flt.unique_id is not None:
        query = query.where(Task.unique_id == flt.unique_id)
    if flt.is_gold is not None:
        query = query.where(Task.is_gold.is_(flt.is_gold))
    if flt.tag is not None:
        if dialect == "postgresql":
            # The column's type is the generic JSON (JSONB only as a variant), which has no
            # containment operator; coerce to JSONB for ``@>``.
            query = query.where(type_coerce(Task.tags, JSONB).contains([flt.tag]))
        else:
            tags = func.json_each(Task.tags).table_valued("value")
            query = query.where(select(tags.c.value).where(tags.c.value == flt.tag).exists())
    return query


def list_tasks(
    *, session: Session, project: Project, flt: TaskFilter, cursor: Cursor
) -> tuple[list[Task], str | None]:
    dialect = session.get_bind().dialect.name
    query = _filtered(select(Task).where(Task.project_id == project.id), flt, dialect)
    return page_of(session, query, Task.id, cursor)


def update_task(*, session: Session, task: Task, spec: TaskUpdate, actor: Principal | None) -> Task:
    changes = spec.model_dump(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise InvalidInput(f"fields may be left out but not set to null: {', '.join(nulls)}")
    if "priority" in changes:
        task.priority = changes["priority"]
    if "tags" in changes:
        task.tags = changes["tags"]
    if "metadata" in changes:
        task.meta = changes["metadata"]
    task.updated_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        org_id=task.org_id,
        action="task.update",
        object_type="task",
        object_id=task.id,
        data={"fields": sorted(changes)},
    )
    return task


def lock_task(*, session: Session, org_id: int | None, task_id: int) -> Task:
    task = session.scalar(select(Task).where(Task.id == task_id).with_for_update())
    if task is None or task.org_id != org_id:
        raise NotFound("Task", task_id)
    return task


def cancel_task(*, session: Session, task: Task, actor: Principal | None) -> Task:
    """Cancel a pending task. Live leases on it end; their late submissions get a 409."""
    if task.status != "pending":
        raise Conflict(f"task {task.id} is {task.status}; only pending tasks can be canceled")
    task.status = "canceled"
    task.updated_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        org_id=task.org_id,
        action="task.cancel",
        object_type="task",
        object_id=task.id,
    )
    session.flush()
    batches.settle_batch(session=session, batch_id=task.batch_id)
    return task


def list_annotations(
    *, session: Session, task: Task, cursor: Cursor
) -> tuple[list[Annotation], str | None]:
    query = select(Annotation).where(Annotation.task_id == task.id)
    return page_of(session, query, Annotation.id, cursor)
