"""The work queue (DESIGN.md §5): leasing, heartbeats, skips, expiry.

Slot accounting lives on the task row (``open_leases``, ``n_annotations``, ``label_target``)
and every change to it happens while that row is locked: ``FOR UPDATE [SKIP LOCKED]`` on
PostgreSQL, the database-wide write lock of ``BEGIN IMMEDIATE`` on SQLite. Lock order is
always worker → task → assignment → batch → project, so transactions cannot deadlock.

These functions run on every request of every annotator, so their statements are built once
at import with bound parameters and run on the session's Core connection: building and
ORM-compiling statements per call cost more than the database work itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelmill.server.db.base import UtcDateTime
from labelmill.server.errors import Conflict, NotFound
from labelmill.server.models import (
    Assignment,
    Batch,
    PoolMember,
    Project,
    ProjectStaffing,
    Task,
    User,
    WorkerSkill,
)
from labelmill.server.services.projects import task_type_of, version_params

_task = cast(Table, Task.__table__)
_assignment = cast(Table, Assignment.__table__)
_project = cast(Table, Project.__table__)
_now = bindparam("now", type_=UtcDateTime())


@dataclass(frozen=True, slots=True)
class WorkProject:
    """What the queue needs of a project the worker is staffed on."""

    id: int
    task_type: str
    gold_rate: float
    lease_seconds: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A leased task as its worker sees it (never metadata, unique id or gold marks)."""

    assignment_id: int
    task_id: int
    project_id: int
    task_type: str
    data: dict[str, Any]
    expires_at: datetime


_staffing = cast(Table, ProjectStaffing.__table__)
_member = cast(Table, PoolMember.__table__)
_user = cast(Table, User.__table__)
_skill = cast(Table, WorkerSkill.__table__)


def _work_project_statement() -> Any:
    """The project's queue settings, found only if the worker is an annotator in a pool
    staffing it and was not removed from it by its quality rules. The worker's row is
    locked in the same round trip (PostgreSQL, ``FOR NO KEY UPDATE``), so concurrent requests
    of one worker (double click, client retry) take turns and the later one finds the
    earlier one's lease; the lock does not block inserts that reference the user. SQLAlchemy
    renders no locking clause on SQLite, whose BEGIN IMMEDIATE already serialises writers."""
    staffed = exists().where(
        _staffing.c.project_id == _project.c.id,
        _member.c.pool_id == _staffing.c.pool_id,
        _member.c.user_id == _user.c.id,
        _member.c.is_annotator.is_(True),
    )
    removed = exists().where(
        _skill.c.project_id == _project.c.id,
        _skill.c.worker_id == _user.c.id,
        _skill.c.removed_at.is_not(None),
    )
    return (
        select(_project.c.task_type, _project.c.gold_rate, _project.c.lease_seconds)
        .select_from(_user.join(_project, _project.c.id == bindparam("q_project")))
        .where(_user.c.id == bindparam("q_worker"), staffed, ~removed)
        .with_for_update(key_share=True, of=_user)
    )


_WORK_PROJECT = _work_project_statement()


def work_project(*, session: Session, project_id: int, worker_id: int) -> WorkProject:
    """The project, if the worker is an annotator in a pool staffing it; otherwise it does
    not exist as far as this worker can tell (404)."""
    row = (
        session.connection()
        .execute(_WORK_PROJECT, {"q_project": project_id, "q_worker": worker_id})
        .first()
    )
    if row is None:
        raise NotFound("Project", project_id)
    return WorkProject(project_id, row[0], float(row[1]), int(row[2]))


def _candidate_select(gold: bool) -> Any:
    """The id of the best eligible task for the worker (``project_id``, ``worker_id``)."""
    open_batches = select(cast(Table, Batch.__table__).c.id).where(
        cast(Table, Batch.__table__).c.project_id == bindparam("q_project"),
        cast(Table, Batch.__table__).c.status == "in_progress",
    )
    already_seen = exists().where(
        _assignment.c.task_id == _task.c.id, _assignment.c.worker_id == bindparam("q_worker")
    )
    conditions = [
        _task.c.project_id == bindparam("q_project"),
        _task.c.is_gold.is_(gold),
        _task.c.status == "pending",
        _task.c.batch_id.in_(open_batches.scalar_subquery()),
        ~already_seen,
    ]
    if not gold:
        # Gold tasks are answered by every worker once; regular tasks have slots.
        conditions.append(_task.c.open_leases + _task.c.n_annotations < _task.c.label_target)
    candidate = (
        select(_task.c.id)
        .where(and_(*conditions))
        .order_by(
            _task.c.priority.desc(),
            _task.c.al_score.desc(),
            _task.c.n_annotations.desc(),
            _task.c.id,
        )
        .limit(1)
    )
    # Rows other transactions are leasing are skipped, not waited for (PostgreSQL; nothing
    # is rendered on SQLite, where the write lock is database-wide).
    return candidate.with_for_update(skip_locked=True, of=_task)


def _take_slot_statement(gold: bool) -> Any:
    """Pick and take the slot in one round trip: the classic queue statement
    ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``."""
    return (
        update(_task)
        .where(_task.c.id == _candidate_select(gold).scalar_subquery())
        .values(open_leases=_task.c.open_leases + 1)
        .returning(_task.c.id, _task.c.params, _task.c.project_version)
    )


_TAKE_SLOT = {gold: _take_slot_statement(gold) for gold in (False, True)}
_REGULAR_WORK = _candidate_select(gold=False)


def _has_regular_work(conn: Connection, keys: dict[str, int]) -> bool:
    return conn.execute(_REGULAR_WORK, keys).first() is not None


_LIVE_LEASE = (
    select(_assignment.c.id, _task.c.id, _task.c.params, _task.c.project_version)
    .join_from(_assignment, _task, _task.c.id == _assignment.c.task_id)
    .where(
        _assignment.c.worker_id == bindparam("q_worker"),
        _assignment.c.project_id == bindparam("q_project"),
        _assignment.c.status == "leased",
        _assignment.c.expires_at > _now,
    )
    .limit(1)
)
_RENEW = (
    update(_assignment)
    .where(_assignment.c.id == bindparam("a_id"))
    .values(expires_at=bindparam("new_expiry", type_=UtcDateTime()))
)
_INSERT_LEASE = _assignment.insert().returning(_assignment.c.id)
_FREE_SLOT = (
    update(_task)
    .where(_task.c.id == bindparam("t_id"))
    .values(open_leases=_task.c.open_leases - bindparam("n_freed"))
)


def _lease(
    conn: Connection,
    project: WorkProject,
    row: Any,
    assignment_id: int,
    expires_at: datetime,
) -> Lease:
    task_id, task_params, version = row[0], row[1], row[2]
    project_params = version_params(conn, project_id=project.id, version=version)
    data = task_type_of(project.task_type).worker_view(project_params, task_params)
    return Lease(
        assignment_id=assignment_id,
        task_id=task_id,
        project_id=project.id,
        task_type=project.task_type,
        data=data,
        expires_at=expires_at,
    )


def next_task(
    *,
    session: Session,
    project_id: int,
    worker_id: int,
    now: datetime,
    rng: random.Random,
) -> Lease | None:
    """Lease the best eligible task to ``worker_id``, or return None; ``NotFound`` if the
    worker is not staffed on the project.

    A worker who already holds a live lease in the project gets that lease back, renewed
    (a reloaded page must not burn a second slot). The live lease is looked up in its own
    statement after the worker's row is locked: on PostgreSQL a statement that waited for
    the lock still reads from the snapshot taken before it, and would miss the lease a
    concurrent request of the same worker just committed.
    """
    project = work_project(session=session, project_id=project_id, worker_id=worker_id)
    conn = session.connection()
    expires_at = now + timedelta(seconds=project.lease_seconds)
    keys = {"q_project": project.id, "q_worker": worker_id}
    held = conn.execute(_LIVE_LEASE, {**keys, "now": now}).first()
    if held is not None:
        conn.execute(_RENEW, {"a_id": held[0], "new_expiry": expires_at})
        return _lease(conn, project, held[1:], held[0], expires_at)

    row = _pick(conn, project, keys, rng)
    if row is None and expire_leases(session=session, now=now, project_id=project.id):
        row = _pick(conn, project, keys, rng)
    if row is None:
        return None
    try:
        assignment_id = conn.execute(
            _INSERT_LEASE,
            {
                "task_id": row[0],
                "project_id": project.id,
                "worker_id": worker_id,
                "status": "leased",
                "leased_at": now,
                "expires_at": expires_at,
            },
        ).scalar_one()
    except IntegrityError:
        # The unique (task, worker) constraint refused a second lease of one task to one
        # worker (invariant 1). The transaction is rolled back by the caller's unit of work.
        raise Conflict("a concurrent request of this worker leased the same task") from None
    return _lease(conn, project, row, assignment_id, expires_at)


def _pick(
    conn: Connection,
    project: WorkProject,
    keys: dict[str, int],
    rng: random.Random,
) -> Any:
    """Take a slot of regular or gold work: gold at the project's rate, and only while
    regular work remains, so a worker is never left answering gold alone."""
    if project.gold_rate > 0 and rng.random() < project.gold_rate:
        gold = conn.execute(_TAKE_SLOT[True], keys).first()
        if gold is not None:
            if _has_regular_work(conn, keys):
                return gold
            # No regular work left: give the gold slot back (same transaction) and stop.
            conn.execute(_FREE_SLOT, {"t_id": gold[0], "n_freed": 1})
            return None
    return conn.execute(_TAKE_SLOT[False], keys).first()


_ASSIGNMENT_OWNER = select(
    _assignment.c.task_id, _assignment.c.project_id, _assignment.c.worker_id
).where(_assignment.c.id == bindparam("a_id"))
_ASSIGNMENT_STATE = select(_assignment.c.status, _assignment.c.expires_at).where(
    _assignment.c.id == bindparam("a_id")
)
_LOCK_TASK = (
    select(
        _task.c.id,
        _task.c.status,
        _task.c.is_gold,
        _task.c.open_leases,
        _task.c.n_annotations,
        _task.c.label_target,
        _task.c.batch_id,
        _task.c.project_version,
        _task.c.params,
        _task.c.gold_answer,
        _project.c.task_type,
        _project.c.max_labels,
        _project.c.lease_seconds,
        _project.c.confidence_target,
        _project.c.skill_threshold,
        _project.c.min_gold_answers,
        _project.c.review_rate,
        _project.c.review_below,
    )
    .join_from(_task, _project, _project.c.id == _task.c.project_id)
    .where(_task.c.id == bindparam("t_id"))
    .with_for_update(of=_task)
)


def get_own_assignment(*, session: Session, assignment_id: int, worker_id: int) -> tuple[int, int]:
    """(task_id, project_id) of the caller's assignment; another worker's is not found."""
    row = session.connection().execute(_ASSIGNMENT_OWNER, {"a_id": assignment_id}).first()
    if row is None or row[2] != worker_id:
        raise NotFound("Assignment", assignment_id)
    return int(row[0]), int(row[1])


def lock_task_row(session: Session, task_id: int) -> Any:
    """The task row (with its project's type, max_labels, lease_seconds), locked."""
    return session.connection().execute(_LOCK_TASK, {"t_id": task_id}).one()


def assignment_state(session: Session, assignment_id: int) -> Any:
    """(status, expires_at); read after locking the task, as the sweeper may change it."""
    return session.connection().execute(_ASSIGNMENT_STATE, {"a_id": assignment_id}).one()


def heartbeat(*, session: Session, assignment_id: int, worker_id: int, now: datetime) -> datetime:
    task_id, _project_id = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    task = lock_task_row(session, task_id)
    status, expires_at = assignment_state(session, assignment_id)
    if status != "leased" or expires_at <= now:
        raise Conflict(f"assignment {assignment_id} is no longer leased")
    new_expiry = now + timedelta(seconds=task.lease_seconds)
    session.connection().execute(_RENEW, {"a_id": assignment_id, "new_expiry": new_expiry})
    return new_expiry


def skip(*, session: Session, assignment_id: int, worker_id: int, now: datetime) -> None:
    """Give the task back; this worker will not be offered it again."""
    task_id, _ = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    lock_task_row(session, task_id)
    status, _expires = assignment_state(session, assignment_id)
    if status not in ("leased", "expired"):
        raise Conflict(f"assignment {assignment_id} is {status}")
    conn = session.connection()
    conn.execute(
        update(_assignment)
        .where(_assignment.c.id == assignment_id)
        .values(status="skipped", ended_at=now)
    )
    if status == "leased":
        conn.execute(_FREE_SLOT, {"t_id": task_id, "n_freed": 1})


def expire_leases(*, session: Session, now: datetime, project_id: int | None = None) -> int:
    """Mark leases past their expiry as expired and free their slots. Returns how many.

    Task rows are locked first (in id order), then their assignments are updated, keeping
    the global lock order; a concurrent sweeper's update of the same assignment re-checks
    ``status = 'leased'`` and so never frees a slot twice.
    """
    conn = session.connection()
    due = select(_assignment.c.task_id).where(
        _assignment.c.status == "leased", _assignment.c.expires_at <= _now
    )
    if project_id is not None:
        due = due.where(_assignment.c.project_id == project_id)
    task_ids = sorted({int(t) for t in conn.execute(due.limit(5000), {"now": now}).scalars()})
    if not task_ids:
        return 0
    conn.execute(
        select(_task.c.id).where(_task.c.id.in_(task_ids)).order_by(_task.c.id).with_for_update()
    )
    expired = conn.execute(
        update(_assignment)
        .where(
            _assignment.c.task_id.in_(task_ids),
            _assignment.c.status == "leased",
            _assignment.c.expires_at <= now,
        )
        .values(status="expired", ended_at=now)
        .returning(_assignment.c.task_id)
    ).all()
    freed: dict[int, int] = {}
    for (task_id,) in expired:
        freed[int(task_id)] = freed.get(int(task_id), 0) + 1
    for task_id, count in freed.items():
        conn.execute(_FREE_SLOT, {"t_id": task_id, "n_freed": count})
    return len(expired)
