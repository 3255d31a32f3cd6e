"""Tasks as Scale's v1 API handles them (reference/scale_api.md §2.1, §3): creation one at a
time with ``unique_id`` conflicts named, organization-wide listing newest first with
``next_token`` cursors, cancel with Scale's idempotence, tags, ``unique_id`` and the
customer's audit.

The ``/v1`` routes translate Scale's wire shapes; the rules live here, over labelmill's own
task services, so a task made or changed through ``/v1`` is an ordinary labelmill task.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from labelmill.schemas.tasks import TaskCreate
from labelmill.server.db.base import utcnow
from labelmill.server.errors import Conflict, InvalidInput, NotFound
from labelmill.server.models import Batch, Project, Task
from labelmill.server.services import audit, batches, callbacks, projects, tasks
from labelmill.server.services import scale as scale_service
from labelmill.server.services.auth import Principal

# Scale's audit outcomes (``customer_review_status``); ``pending`` means "not audited yet".
AUDIT_STATUSES = ("pending", "accepted", "fixed", "rejected", "commented")
MAX_METADATA_BYTES = 10 * 1024  # Scale: "Max 10KB"
MAX_TAG_CHARS = 200
MAX_UNIQUE_ID_CHARS = 500  # as TaskCreate.unique_id


def task_by_scale_id(*, session: Session, org_id: int, task_id: str, lock: bool = False) -> Task:
    """The organization's task whose Scale id is ``task_id`` (labelmill's id as text). Any
    id that is not one of the organization's tasks reads as missing, as Scale words it."""
    if not task_id.isascii() or not task_id.isdigit() or len(task_id) > 18:
        raise NotFound("Task", task_id)
    ident = int(task_id)
    if lock:
        return tasks.lock_task(session=session, org_id=org_id, task_id=ident)
    return tasks.get_task(session=session, org_id=org_id, task_id=ident)


def target_of(
    *, session: Session, org_id: int, project_name: str | None, batch_name: str | None
) -> tuple[Project, Batch | None]:
    """The project (and batch) a new task goes to. A batch implies its project (Scale:
    "you need not specify the project"); both given must agree. Unknown names in the body
    are a 400, as Scale answers them."""
    if batch_name is not None:
        try:
            batch, project = scale_service.batch_by_name(
                session=session, org_id=org_id, name=batch_name
            )
        except NotFound:
            raise InvalidInput(f"batch: no batch named {batch_name!r}") from None
        if project_name is not None and project.name != project_name:
            raise InvalidInput(
                f"batch: batch {batch_name!r} belongs to project {project.name!r}, "
                f"not {project_name!r}"
            )
        return project, batch
    if project_name is None:
        raise InvalidInput("project: required (or a batch)")
    try:
        project = projects.get_project_by_name(session=session, org_id=org_id, name=project_name)
    except NotFound:
        raise InvalidInput(f"project: no project named {project_name!r}") from None
    return project, None


def check_target(
    *, project: Project, native_type: str, requested: str, project_version: object
) -> None:
    """A task of ``requested`` (Scale's type name, labelmill's ``native_type``) may go to
    ``project``: the project's type, and its latest params (``project_version`` absent, -1
    or the latest: tasks are validated against the latest params)."""
    if project.task_type != native_type:
        raise InvalidInput(
            f"project: {project.name!r} takes {project.task_type} tasks, not {requested}"
        )
    latest = project.params_version - 1  # Scale numbers versions from 0
    if project_version is not None and project_version not in (-1, latest):
        raise InvalidInput(
            f"project_version: tasks take the project's latest params (version {latest}) here"
        )


def check_metadata_size(metadata: dict[str, Any]) -> None:
    if len(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise InvalidInput("metadata: at most 10 KB of JSON")


def _holder_of(session: Session, org_id: int, unique_id: str) -> int | None:
    """The organization's task that has ``unique_id``, if any."""
    return session.scalar(select(Task.id).where(Task.org_id == org_id, Task.unique_id == unique_id))


def _unique_id_conflict(unique_id: str, task_id: int) -> Conflict:
    # Scale's own wording, with the existing task's id (the SDK's users parse it).
    return Conflict(
        f'The unique_id ("{unique_id}") is already used for a different task ({task_id}).'
    )


def create_task(
    *,
    session: Session,
    project: Project,
    batch: Batch | None,
    spec: TaskCreate,
    scale_request: dict[str, Any],
    actor: Principal | None,
) -> Task:
    """One task through labelmill's bulk creation (validation, test mode, callbacks), with
    the Scale request kept for reading back. A ``unique_id`` already used in the
    organization is a conflict naming the task that has it (Scale's 409)."""
    if spec.unique_id is not None:
        holder = _holder_of(session, project.org_id, spec.unique_id)
        if holder is not None:
            raise _unique_id_conflict(spec.unique_id, holder)
    if batch is not None and batch.status == "completed":
        # Scale creates tasks one request at a time into batches that stay open; with a
        # test key every task completes at once, so the batch would close after the first.
        # A task added through /v1 reopens it (and it completes, with its events, again).
        batches.reopen_batch(session=session, batch=batch, actor=actor)
    result = tasks.create_tasks(
        session=session,
        project=project,
        specs=[spec],
        batch_id=None if batch is None else batch.id,
        max_tasks=1,
        actor=actor,
    )
    if result.existing:
        existing = result.existing[0]
        raise _unique_id_conflict(existing.unique_id, existing.task_id)
    task = session.get(Task, result.task_ids[0])
    assert task is not None
    task.scale_request = scale_request
    session.flush()
    return task


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Scale's list filters (§3.7). Empty lists filter nothing; ``tags`` must all be on a
    task (narrowing by ``key:value`` tags is what they are for)."""

    org_id: int
    project_id: int | None = None
    batch_id: int | None = None
    statuses: Sequence[str] = ()
    task_types: Sequence[str] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    completed_after: datetime | None = None
    completed_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    review_statuses: Sequence[str] = ()
    unique_ids: Sequence[str] = ()
    tags: Sequence[str] = field(default_factory=tuple)


def _conditions(query: TaskQuery, dialect: str) -> list[ColumnElement[bool]]:
    # Gold tasks are labelmill's quality control, not the customer's deliverables; Scale's
    # listing (like the batch counts) leaves them out.
    where: list[ColumnElement[bool]] = [Task.org_id == query.org_id, Task.is_gold.is_(False)]
    if query.project_id is not None:
        where.append(Task.project_id == query.project_id)
    if query.batch_id is not None:
        where.append(Task.batch_id == query.batch_id)
    if query.statuses:
        where.append(Task.status.in_(query.statuses))
    if query.task_types:
        where.append(
            Task.project_id.in_(
                select(Project.id).where(
                    Project.org_id == query.org_id, Project.task_type.in_(query.task_types)
                )
            )
        )
    bounds = (
        (Task.created_at, query.created_after, query.created_before),
        (Task.completed_at, query.completed_after, query.completed_before),
        (Task.updated_at, query.updated_after, query.updated_before),
    )
    for column, after, before in bounds:
        if after is not None:
            where.append(column >= after)
        if before is not None:
            where.append(column <= before)
    if query.review_statuses:
        audited = [s for s in query.review_statuses if s != "pending"]
        either: ColumnElement[bool] = Task.customer_review_status.in_(audited)
        if "pending" in query.review_statuses:
            # Not audited yet: delivered, awaiting the customer's verdict.
            either = either | ((Task.status == "completed") & Task.customer_review_status.is_(None))
        where.append(either)
    if query.unique_ids:
        where.append(Task.unique_id.in_(query.unique_ids))
    for tag in query.tags:
        if dialect == "postgresql":
            where.append(type_coerce(Task.tags, JSONB).contains([tag]))
        else:
            values = func.json_each(Task.tags).table_valued("value")
            where.append(select(values.c.value).where(values.c.value == tag).exists())
    return where


def encode_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{last_id}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    """The id a ``next_token`` continues below; anything else is a 400 naming it."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if raw.startswith("t") and raw[1:].isdigit() and len(raw) < 20:
        return int(raw[1:])
    raise InvalidInput("next_token: not a token this server gave")


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int
    next_token: str | None


def list_tasks(*, session: Session, query: TaskQuery, limit: int, token: str | None) -> TaskPage:
    """One page, newest first (ids grow with creation time), and the total that match.

    The cursor is the last id shown: a page is ``id < cursor``, so tasks created while a
    client pages through never shift or repeat what it reads.
    """
    where = _conditions(query, session.get_bind().dialect.name)
    total = int(session.scalar(select(func.count()).select_from(Task).where(*where)) or 0)
    page: Select[Task] = select(Task).where(*where)
    if token is not None:
        page = page.where(Task.id < decode_token(token))
    rows = list(session.scalars(page.order_by(Task.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return TaskPage(rows, total, encode_token(rows[-1].id) if more else None)


def names_of(
    *, session: Session, items: Sequence[Task]
) -> tuple[dict[int, Project], dict[int, str]]:
    """The projects and batch names of ``items``, in two queries for a whole page."""
    project_ids = {t.project_id for t in items}
    batch_ids = {t.batch_id for t in items}
    by_project: dict[int, Project] = {}
    if project_ids:
        found = session.scalars(select(Project).where(Project.id.in_(project_ids)))
        by_project = {p.id: p for p in found}
    batch_names: dict[int, str] = {}
    if batch_ids:
        rows = session.execute(select(Batch.id, Batch.name).where(Batch.id.in_(batch_ids)))
        batch_names = {int(i): str(n) for i, n in rows}
    return by_project, batch_names


def _touch(session: Session, task: Task, actor: Principal | None, action: str, **data: Any) -> None:
    task.updated_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        org_id=task.org_id,
        action=action,
        object_type="task",
        object_id=task.id,
        data=data,
    )
    session.flush()


def cancel(*, session: Session, task: Task, clear_unique_id: bool, actor: Principal | None) -> Task:
    """Scale's cancel: a pending task is canceled; canceling again is a 200 (Scale calls it
    idempotent); a completed or errored task cannot be canceled (400, never 409: the SDK
    crashes on a 409 here, §1.5)."""
    if task.status in ("completed", "error"):
        raise InvalidInput(f"task {task.id} is {task.status}; only pending tasks can be canceled")
    if task.status == "pending":
        tasks.cancel_task(session=session, task=task, actor=actor)
    if clear_unique_id and task.unique_id is not None:
        _touch(session, task, actor, "task.clear_unique_id", unique_id=task.unique_id)
        task.unique_id = None
        session.flush()
    return task


def set_metadata(
    *, session: Session, task: Task, metadata: dict[str, Any], actor: Principal | None
) -> Task:
    """Replace the metadata whole, as Scale's ``setMetadata`` does."""
    task.meta = metadata
    _touch(session, task, actor, "task.set_metadata")
    return task


def set_tags(
    *, session: Session, task: Task, tags: list[str], mode: str, actor: Principal | None
) -> Task:
    """``replace`` the tags, ``add`` the new ones at the end (kept in order, repeats
    ignored) or ``remove`` the listed ones (absent ones ignored)."""
    if any(len(t) > MAX_TAG_CHARS for t in tags):
        raise InvalidInput(f"tags: a tag is at most {MAX_TAG_CHARS} characters")
    current = list(task.tags or [])
    if mode == "replace":
        updated = list(dict.fromkeys(tags))
    elif mode == "add":
        updated = list(dict.fromkeys([*current, *tags]))
    else:
        dropped = set(tags)
        updated = [t for t in current if t not in dropped]
    if len(updated) > 100:
        raise InvalidInput("tags: at most 100 tags per task")
    task.tags = updated
    _touch(session, task, actor, "task.set_tags", mode=mode)
    return task


def set_unique_id(
    *, session: Session, task: Task, unique_id: str | None, actor: Principal | None
) -> Task:
    """Give the task a new ``unique_id`` (a conflict if another task of the organization
    has it) or clear it (``None``)."""
    if unique_id is not None and len(unique_id) > MAX_UNIQUE_ID_CHARS:
        raise InvalidInput(f"unique_id: at most {MAX_UNIQUE_ID_CHARS} characters")
    if unique_id is not None and unique_id != task.unique_id:
        holder = _holder_of(session, task.org_id, unique_id)
        if holder is not None:
            raise _unique_id_conflict(unique_id, holder)
    old = task.unique_id
    task.unique_id = unique_id
    _touch(session, task, actor, "task.set_unique_id", old=old, new=unique_id)
    return task


def record_audit(
    *, session: Session, task: Task, accepted: bool, comments: str | None, actor: Principal | None
) -> Task:
    """The customer's verdict on a delivered task: ``accepted`` or ``rejected``, kept on the
    task (``customer_review_status``), in the audit log with the comments, and sent to the
    task's callback (Scale calls back on audit changes)."""
    if task.status != "completed":
        raise InvalidInput(f"task {task.id} is {task.status}; only completed tasks can be audited")
    task.customer_review_status = "accepted" if accepted else "rejected"
    _touch(session, task, actor, "task.audit", accepted=accepted, comments=comments)
    callbacks.enqueue_task_event(session, [task.id], "audit")
    return task
