"""The work queue (DESIGN.md §5): leasing, heartbeats, skips, expiry.

Slot accounting lives on the task row (``open_leases``, ``n_annotations``, ``label_target``)
and every change to it happens while that row is locked: ``FOR UPDATE [SKIP LOCKED]`` on
PostgreSQL, the database-wide write lock of ``BEGIN IMMEDIATE`` on SQLite. Lock order is
always task → assignment → batch → project, so transactions cannot deadlock.

Hot paths use SQLAlchemy Core statements: they run on every request of every annotator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelmill.server.errors import Conflict, NotFound
from labelmill.server.models import Assignment, Batch, Project, Task, User
from labelmill.server.services.projects import task_type_of, version_params


@dataclass(frozen=True, slots=True)
class Lease:
    """A leased task as its worker sees it (never metadata, unique id or gold marks)."""

    assignment_id: int
    task_id: int
    project_id: int
    task_type: str
    data: dict[str, Any]
    expires_at: datetime


def _candidate_query(project_id: int, worker_id: int, gold: bool, lock: bool) -> Any:
    task = Task.__table__
    open_batches = select(Batch.id).where(
        Batch.project_id == project_id, Batch.status == "in_progress"
    )
    already_seen = exists().where(
        Assignment.task_id == task.c.id, Assignment.worker_id == worker_id
    )
    conditions = [
        task.c.project_id == project_id,
        task.c.is_gold.is_(gold),
        task.c.status == "pending",
        task.c.batch_id.in_(open_batches.scalar_subquery()),
        ~already_seen,
    ]
    if not gold:
        # Gold tasks are answered by every worker once; regular tasks have slots.
        conditions.append(task.c.open_leases + task.c.n_annotations < task.c.label_target)
    query = (
        select(task.c.id)
        .where(and_(*conditions))
        .order_by(
            task.c.priority.desc(), task.c.al_score.desc(), task.c.n_annotations.desc(), task.c.id
        )
        .limit(1)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=task)
    return query


def _lease_view(
    session: Session, project: Project, assignment_id: int, task_id: int, expires_at: datetime
) -> Lease:
    row = session.execute(select(Task.params, Task.project_version).where(Task.id == task_id)).one()
    task_params, version = row
    project_params = version_params(session=session, project_id=project.id, version=version)
    data = task_type_of(project.task_type).worker_view(project_params, task_params)
    return Lease(
        assignment_id=assignment_id,
        task_id=task_id,
        project_id=project.id,
        task_type=project.task_type,
        data=data,
        expires_at=expires_at,
    )


def _live_lease(
    session: Session, project_id: int, worker_id: int, now: datetime
) -> tuple[int, int] | None:
    row = session.execute(
        select(Assignment.id, Assignment.task_id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.project_id == project_id,
            Assignment.status == "leased",
            Assignment.expires_at > now,
        )
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def next_task(
    *,
    session: Session,
    project: Project,
    worker_id: int,
    now: datetime,
    rng: random.Random,
    lock_rows: bool,
) -> Lease | None:
    """Lease the best eligible task to ``worker_id``, or return None.

    A worker who already holds a live lease in the project gets that lease back, renewed
    (a reloaded page must not burn a second slot).
    """
    expires_at = now + timedelta(seconds=project.lease_seconds)
    if lock_rows:
        # Concurrent requests of one worker (double click, client retry) take turns here,
        # so the later one finds the earlier one's lease instead of leasing a second task.
        # NO KEY UPDATE: does not block inserts referencing the user. (SQLite's BEGIN
        # IMMEDIATE already serialises them.)
        session.execute(select(User.id).where(User.id == worker_id).with_for_update(key_share=True))
    held = _live_lease(session, project.id, worker_id, now)
    if held is not None:
        session.execute(
            update(Assignment).where(Assignment.id == held[0]).values(expires_at=expires_at)
        )
        return _lease_view(session, project, held[0], held[1], expires_at)

    task_id = _pick(session, project, worker_id, rng, lock_rows)
    if task_id is None and expire_leases(session=session, now=now, project_id=project.id):
        task_id = _pick(session, project, worker_id, rng, lock_rows)
    if task_id is None:
        return None
    try:
        with session.begin_nested():
            assignment_id = session.scalar(
                insert(Assignment)
                .values(
                    task_id=task_id,
                    project_id=project.id,
                    worker_id=worker_id,
                    status="leased",
                    leased_at=now,
                    expires_at=expires_at,
                )
                .returning(Assignment.id)
            )
    except IntegrityError:
        # The same worker leased this task in a concurrent request: the unique (task,
        # worker) constraint refused the second lease (invariant 1).
        raise Conflict("a concurrent request of this worker leased the same task") from None
    session.execute(update(Task).where(Task.id == task_id).values(open_leases=Task.open_leases + 1))
    assert assignment_id is not None
    return _lease_view(session, project, assignment_id, task_id, expires_at)


def _pick(
    session: Session, project: Project, worker_id: int, rng: random.Random, lock_rows: bool
) -> int | None:
    """Choose regular or gold work: gold at the project's rate, and only while regular work
    remains, so a worker is never left answering gold alone."""
    want_gold = project.gold_rate > 0 and rng.random() < project.gold_rate
    regular: int | None = session.scalar(_candidate_query(project.id, worker_id, False, lock_rows))
    if regular is None or not want_gold:
        return regular
    gold: int | None = session.scalar(_candidate_query(project.id, worker_id, True, lock_rows))
    return gold if gold is not None else regular


def get_own_assignment(*, session: Session, assignment_id: int, worker_id: int) -> tuple[int, int]:
    """(task_id, project_id) of the caller's assignment; another worker's is not found."""
    row = session.execute(
        select(Assignment.task_id, Assignment.project_id, Assignment.worker_id).where(
            Assignment.id == assignment_id
        )
    ).first()
    if row is None or row[2] != worker_id:
        raise NotFound("Assignment", assignment_id)
    return int(row[0]), int(row[1])


def lock_task_row(session: Session, task_id: int) -> Any:
    return session.execute(
        select(
            Task.id,
            Task.status,
            Task.is_gold,
            Task.open_leases,
            Task.n_annotations,
            Task.label_target,
            Task.batch_id,
            Task.project_version,
            Task.params,
            Task.gold_answer,
        )
        .where(Task.id == task_id)
        .with_for_update()
    ).one()


def _assignment_state(session: Session, assignment_id: int) -> Any:
    return session.execute(
        select(Assignment.status, Assignment.expires_at).where(Assignment.id == assignment_id)
    ).one()


def heartbeat(*, session: Session, assignment_id: int, worker_id: int, now: datetime) -> datetime:
    task_id, project_id = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    lock_task_row(session, task_id)
    status, expires_at = _assignment_state(session, assignment_id)
    if status != "leased" or expires_at <= now:
        raise Conflict(f"assignment {assignment_id} is no longer leased")
    lease_seconds = session.scalar(select(Project.lease_seconds).where(Project.id == project_id))
    assert lease_seconds is not None
    new_expiry = now + timedelta(seconds=lease_seconds)
    session.execute(
        update(Assignment).where(Assignment.id == assignment_id).values(expires_at=new_expiry)
    )
    return new_expiry


def skip(*, session: Session, assignment_id: int, worker_id: int, now: datetime) -> None:
    """Give the task back; this worker will not be offered it again."""
    task_id, _ = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    lock_task_row(session, task_id)
    status, _expires = _assignment_state(session, assignment_id)
    if status not in ("leased", "expired"):
        raise Conflict(f"assignment {assignment_id} is {status}")
    session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id)
        .values(status="skipped", ended_at=now)
    )
    if status == "leased":
        session.execute(
            update(Task).where(Task.id == task_id).values(open_leases=Task.open_leases - 1)
        )


def expire_leases(*, session: Session, now: datetime, project_id: int | None = None) -> int:
    """Mark leases past their expiry as expired and free their slots. Returns how many.

    Task rows are locked first (in id order), then their assignments are updated, keeping
    the global lock order; a concurrent sweeper's update of the same assignment re-checks
    ``status = 'leased'`` and so never frees a slot twice.
    """
    due = select(Assignment.task_id).where(
        Assignment.status == "leased", Assignment.expires_at <= now
    )
    if project_id is not None:
        due = due.where(Assignment.project_id == project_id)
    task_ids = sorted({int(t) for t in session.scalars(due.limit(5000))})
    if not task_ids:
        return 0
    session.execute(
        select(Task.id).where(Task.id.in_(task_ids)).order_by(Task.id).with_for_update()
    )
    expired = session.execute(
        update(Assignment)
        .where(
            Assignment.task_id.in_(task_ids),
            Assignment.status == "leased",
            Assignment.expires_at <= now,
        )
        .values(status="expired", ended_at=now)
        .returning(Assignment.task_id)
    ).all()
    freed: dict[int, int] = {}
    for (task_id,) in expired:
        freed[int(task_id)] = freed.get(int(task_id), 0) + 1
    for task_id, count in freed.items():
        session.execute(
            update(Task).where(Task.id == task_id).values(open_leases=Task.open_leases - count)
        )
    return len(expired)
