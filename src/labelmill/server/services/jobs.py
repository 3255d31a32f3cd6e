"""The durable outbox: jobs written in the transaction that causes them, run afterwards.

Delivery is at least once: a job is claimed by moving it to ``running`` with a lock that
expires; if the process dies mid-job, the lock lapses and another worker runs it again.
Failures are retried with exponential backoff and jitter until ``max_attempts``.

A kind may bring its own retry policy, read from the settings when its job runs (callbacks
retry 20 times over about a day, whatever the job row was written with), and a hook that
runs in the transaction that gives a job up (a callback records that delivery failed).
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
from labelmill.server.settings import Settings

log = logging.getLogger(__name__)

JobHandler = Callable[[Database, Job], None]
_CLAIM_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential in the number of attempts made, capped, with ±25 % jitter so that
        many failed jobs do not retry in lock-step."""
        raw = min(self.max_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return float(raw * rng.uniform(0.75, 1.25))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a kind's failed jobs are retried: ``backoff`` between attempts, and at most
    ``max_attempts`` in all (None: the job row's own ``max_attempts``)."""

    backoff: Backoff
    max_attempts: int | None = None


PolicyOf = Callable[[Settings], RetryPolicy]
GiveUpHook = Callable[[Session, Job], None]


@dataclass(frozen=True, slots=True)
class _Registration:
    run: JobHandler
    policy: PolicyOf | None
    on_given_up: GiveUpHook | None


_HANDLERS: dict[str, _Registration] = {}


def register_handler(
    kind: str,
    function: JobHandler,
    *,
    policy: PolicyOf | None = None,
    on_given_up: GiveUpHook | None = None,
) -> None:
    """Register the function that runs jobs of ``kind``. ``policy`` (from the settings)
    replaces the worker's default backoff and the row's attempt limit for this kind;
    ``on_given_up`` runs in the transaction that marks a job of this kind ``failed``."""
    _HANDLERS[kind] = _Registration(function, policy, on_given_up)


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


def _finish(
    db: Database,
    job_id: int,
    error: str | None,
    policy: RetryPolicy,
    on_given_up: GiveUpHook | None,
) -> None:
    with db.write_session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        now = utcnow()
        job.locked_until = None
        if policy.max_attempts is not None:
            job.max_attempts = policy.max_attempts
        if error is None:
            job.status = "done"
            job.finished_at = now
            job.last_error = None
        elif job.attempts >= job.max_attempts:
            job.status = "failed"
            job.finished_at = now
            job.last_error = error
            if on_given_up is not None:
                on_given_up(session, job)
        else:
            job.status = "pending"
            job.last_error = error
            delay = policy.backoff.delay(job.attempts, random.Random())
            job.run_after = now + timedelta(seconds=delay)


def run_one(db: Database, backoff: Backoff) -> bool:
    """Run one due job, if any, with ``backoff`` unless its kind has its own policy.
    Returns whether one ran."""
    job = claim_next(db)
    if job is None:
        return False
    registration = _HANDLERS.get(job.kind)
    policy = RetryPolicy(backoff)
    error: str | None
    if registration is None:
        error = f"no handler for job kind {job.kind!r}"
    else:
        if registration.policy is not None:
            policy = registration.policy(db.settings)
        try:
            registration.run(db, job)
            error = None
        except Exception as exc:  # a failing job must not stop the worker; it is retried
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            error = "".join(traceback.format_exception_only(exc)).strip()
    _finish(db, job.id, error, policy, None if registration is None else registration.on_given_up)
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
