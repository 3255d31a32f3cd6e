"""Handlers of the lifecycle events the outbox carries.

Until callbacks exist (their own issue), delivering an event means recording it in the
organization's audit log, which proves the outbox end to end: written in the completing
transaction, run once by a worker, retried on failure.
"""

from __future__ import annotations

from labelmill.server.db.engine import Database
from labelmill.server.models import Job
from labelmill.server.services import audit, jobs


def _record_delivery(db: Database, job: Job) -> None:
    object_type = job.kind.split(".")[0]
    object_id = job.payload.get(f"{object_type}_id")
    with db.write_session() as session:
        audit.record(
            session=session,
            actor=None,
            org_id=job.org_id,
            action=f"event.{job.kind}",
            object_type=object_type,
            object_id=object_id,
            data={"job_id": job.id, "attempt": job.attempts},
        )


def register() -> None:
    jobs.register_handler("batch.completed", _record_delivery)
    jobs.register_handler("project.completed", _record_delivery)
