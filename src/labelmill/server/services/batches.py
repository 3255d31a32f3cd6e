"""Batches: ``staging → in_progress → completed``, and completion events."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from labelmill.schemas.projects import BatchCreate
from labelmill.server.db.base import utcnow
from labelmill.server.errors import Conflict, NotFound
from labelmill.server.models import Batch, Project, Task
from labelmill.server.services import audit, jobs
from labelmill.server.services.auth import Principal
from labelmill.server.services.pagination import Cursor, page_of

DEFAULT_BATCH = "default"


def create_batch(
    *, session: Session, project: Project, spec: BatchCreate, actor: Principal | None
) -> Batch:
    if session.scalar(
        select(Batch.id).where(Batch.project_id == project.id, Batch.name == spec.name)
    ):
        raise Conflict(f"batch {spec.name!r} already exists in this project")
    now = utcnow()
    batch = Batch(
        org_id=project.org_id,
        project_id=project.id,
        name=spec.name,
        status="in_progress" if spec.start else "staging",
        started_at=now if spec.start else None,
        callback_url=spec.callback_url,
        meta=spec.metadata,
    )
    session.add(batch)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=project.org_id,
        action="batch.create",
        object_type="batch",
        object_id=batch.id,
        data={"name": spec.name},
    )
    return batch


def _find_default(session: Session, project_id: int) -> Batch | None:
    return session.scalar(
        select(Batch).where(Batch.project_id == project_id, Batch.name == DEFAULT_BATCH)
    )


def default_batch(*, session: Session, project: Project) -> Batch:
    """The project's default batch, created (already in progress) on first use.

    Two imports may both be first: the project row is locked before creating, so the second
    waits and then finds the first one's batch (a new statement sees what committed).
    """
    batch = _find_default(session, project.id)
    if batch is None:
        session.execute(
            select(Project.id).where(Project.id == project.id).with_for_update(key_share=True)
        )
        batch = _find_default(session, project.id)
    if batch is None:
        batch = create_batch(
            session=session,
            project=project,
            spec=BatchCreate(name=DEFAULT_BATCH, start=True),
            actor=None,
        )
    return batch


def get_batch(*, session: Session, org_id: int | None, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.org_id != org_id:
        raise NotFound("Batch", batch_id)
    return batch


def list_batches(
    *, session: Session, project: Project, cursor: Cursor
) -> tuple[list[Batch], str | None]:
    return page_of(session, select(Batch).where(Batch.project_id == project.id), Batch.id, cursor)


def start_batch(*, session: Session, batch: Batch, actor: Principal | None) -> Batch:
    if batch.status != "staging":
        raise Conflict(f"batch {batch.id} is {batch.status}, not staging")
    batch.status = "in_progress"
    batch.started_at = utcnow()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=batch.org_id,
        action="batch.start",
        object_type="batch",
        object_id=batch.id,
    )
    # A batch started with all its tasks already finished (canceled) is complete at once.
    settle_batch(session=session, batch_id=batch.id)
    return batch


def reopen_batch(*, session: Session, batch: Batch, actor: Principal | None) -> Batch:
    """A completed batch back in progress, to take more tasks (the Scale API's way: its
    batches stay open to new tasks). It completes again, with its events, once the new
    tasks are done."""
    session.refresh(batch, with_for_update=True)  # task -> batch -> project lock order
    if batch.status != "completed":
        return batch
    batch.status = "in_progress"
    batch.completed_at = None
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=batch.org_id,
        action="batch.reopen",
        object_type="batch",
        object_id=batch.id,
    )
    return batch


def counts(*, session: Session, batch: Batch) -> dict[str, int]:
    rows = session.execute(
        select(Task.status, func.count())
        .where(Task.batch_id == batch.id, Task.is_gold.is_(False))
        .group_by(Task.status)
    ).all()
    result = {"pending": 0, "completed": 0, "canceled": 0, "error": 0}
    result.update({status: int(n) for status, n in rows})
    return result


def _has_regular_tasks(session: Session, batch_id: int) -> bool:
    return bool(
        session.scalar(select(exists().where(Task.batch_id == batch_id, Task.is_gold.is_(False))))
    )


# A task still owes work while it is pending or waits for (or is in) review.
_UNFINISHED = (Task.status == "pending") | Task.review_status.in_(("pending", "in_review"))


def _has_open_tasks(session: Session, *conditions: object) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    *conditions,  # type: ignore[arg-type]
                    _UNFINISHED,
                    Task.is_gold.is_(False),
                )
            )
        )
    )


def settle_batch(*, session: Session, batch_id: int) -> None:
    """After tasks of a batch finished: complete the batch and the project when nothing of
    theirs is pending any more, and queue the events.

    The common case (tasks still pending) is answered by an unlocked check, so finishing a
    task does not serialise on the batch row. Only a batch that looks finished is locked
    (then the project row; task → batch → project is the lock order everywhere) and checked
    again. Two transactions finishing the last two tasks at once on PostgreSQL may each
    still see the other's task pending; ``settle_finished_batches``, run by the background
    worker, completes such a batch a moment later, exactly once.
    """
    if _has_open_tasks(session, Task.batch_id == batch_id):
        return
    batch = session.scalar(select(Batch).where(Batch.id == batch_id).with_for_update())
    if batch is None or batch.status != "in_progress":
        return
    # A batch with no work yet (just started, tasks still to come) is not finished.
    if _has_open_tasks(session, Task.batch_id == batch.id) or not _has_regular_tasks(
        session, batch.id
    ):
        return
    batch.status = "completed"
    batch.completed_at = utcnow()
    jobs.enqueue(
        session=session,
        kind="batch.completed",
        org_id=batch.org_id,
        payload={"batch_id": batch.id, "project_id": batch.project_id},
    )
    session.scalar(select(Project.id).where(Project.id == batch.project_id).with_for_update())
    if not _has_open_tasks(session, Task.project_id == batch.project_id):
        jobs.enqueue(
            session=session,
            kind="project.completed",
            org_id=batch.org_id,
            payload={"project_id": batch.project_id, "batch_id": batch.id},
        )


def settle_finished_batches(*, session: Session) -> int:
    """Complete every in-progress batch that has work and nothing pending. Returns how
    many were seen."""
    pending = exists().where(Task.batch_id == Batch.id, _UNFINISHED, Task.is_gold.is_(False))
    has_work = exists().where(Task.batch_id == Batch.id, Task.is_gold.is_(False))
    batch_ids = list(
        session.scalars(select(Batch.id).where(Batch.status == "in_progress", has_work, ~pending))
    )
    for batch_id in batch_ids:
        settle_batch(session=session, batch_id=batch_id)
    return len(batch_ids)
