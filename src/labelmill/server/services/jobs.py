"""The durable outbox: jobs written in the transaction that causes them, run afterwards.

Delivery is at least once: a job is claimed by moving it to ``running`` with a lock that
expires; if the process dies mid-job, the lock lapses and another worker runs it again.
Failures are retried with exponential backoff and jitter until ``max_attempts``.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.models import Job
from labelmill.server.services.pagination import Cursor, page_of

log = logging.getLogger(__name__)

JobHandler = Callable[[Database, Job], None]
_HANDLERS: dict[str, JobHandler] = {}
_CLAIM_SECONDS = 300


def register_handler(kind: str, function: JobHandler) -> None:
    """Register the function that runs jobs of ``kind``."""
    _HANDLERS[kind] = function


def enqueue(
    *,
    session: Session,
    kind: str,
    org_id: int | None,
    payload: dict[str, Any],
    max_attempts: int | None = None,
) -> Job:
    job = Job(kind=kind, org_id=org_id, payload=payload, run_after=utcnow())
    if max_attempts is not None:
        job.max_attempts = max_attempts
    session.add(job)
    return job


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential in the number of attempts made, capped, with ±25 % jitter so that
        many failed jobs do not retry in lock-step."""
        raw = min(self.max_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return float(raw * rng.uniform(0.75, 1.25))


def claim_next(db: Database) -> Job | None:
    """Take one due job (or one whose previous worker's claim lapsed)."""
    now = utcnow()
    with db.write_session() as session:
        query = (
            select(Job)
            .where(
                or_(
                    (Job.status == "pending") & (Job.run_after <= now),
                    (Job.status == "running") & (Job.locked_until < now),
                )
            )
            .order_by(Job.run_after, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # nothing is rendered on SQLite
        )
        job = session.scalar(query)
        if job is None:
            return None
        job.status = "running"
        job.attempts += 1
        job.locked_until = now + timedelta(seconds=_CLAIM_SECONDS)
        session.flush()
        session.expunge(job)
        return job


def _finish(db: Database, job_id: int, error: str | None, backoff: Backoff) -> None:
    with db.write_session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        now = utcnow()
        job.locked_until = None
        if error is None:
            job.status = "done"
            job.finished_at = now
            job.last_error = None
        elif job.attempts >= job.max_attempts:
            job.status = "failed"
            job.finished_at = now
            job.last_error = error
        else:
            job.status = "pending"
            job.last_error = error
            job.run_after = now + timedelta(seconds=backoff.delay(job.attempts, random.Random()))


def run_one(db: Database, backoff: Backoff) -> bool:
    """Run one due job, if any. Returns whether one ran."""
    job = claim_next(db)
    if job is None:
        return False
    function = _HANDLERS.get(job.kind)
    error: str | None
    if function is None:
        error = f"no handler for job kind {job.kind!r}"
    else:
        try:
            function(db, job)
            error = None
        except Exception as exc:  # a failing job must not stop the worker; it is retried
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            error = "".join(traceback.format_exception_only(exc)).strip()
    _finish(db, job.id, error, backoff)
    return True


def list_jobs(
    *, session: Session, org_id: int, cursor: Cursor, kind: str | None, status: str | None
) -> tuple[list[Job], str | None]:
    query = select(Job).where(Job.org_id == org_id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if status is not None:
        query = query.where(Job.status == status)
    return page_of(session, query, Job.id, cursor)
