"""Handlers of the lifecycle events the outbox carries: ``batch.completed`` and
``project.completed``.

Each delivered event is recorded in the organization's audit log. A completed batch with an
http(s) ``callback_url`` is also POSTed there first (Scale documents no payload for batch
callbacks; this one is labelmill's)::

    {"batch": <the batch as GET /v1/batches/{name} shows it>, "batch_name": "<name>",
     "status": "completed", "event": "batch.completed"}

with the organization's callback key in ``scale-callback-auth``, retried like task callbacks
(``jobs.callbacks.retry_policy``); the audit event is recorded once the POST succeeded. A
callback that is not an http(s) URL (Scale also accepts an e-mail address) is not sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.jobs.callbacks import post_callback, retry_policy
from labelmill.server.models import Batch, Job, Organization, Project
from labelmill.server.scale.serialize import batch as scale_batch
from labelmill.server.services import audit, jobs
from labelmill.server.services.callbacks import is_deliverable_url


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


def _batch_callback(db: Database, job: Job) -> tuple[str, str, dict[str, Any]] | None:
    """(url, key, body) of the batch's callback, or None when there is none to send."""
    with db.read_session() as session:
        batch = session.get(Batch, job.payload.get("batch_id"))
        if batch is None or batch.org_id != job.org_id:
            return None
        if not is_deliverable_url(batch.callback_url):
            return None
        assert batch.callback_url is not None
        project_name = session.scalar(select(Project.name).where(Project.id == batch.project_id))
        org = session.get(Organization, batch.org_id)
        assert project_name is not None and org is not None
        body = {
            "batch": scale_batch(batch, project_name),
            "batch_name": batch.name,
            "status": "completed",
            "event": job.kind,
        }
        return batch.callback_url, org.callback_secret, body


def _deliver_batch_completed(db: Database, job: Job) -> None:
    callback = _batch_callback(db, job)
    if callback is not None:
        post_callback(db.settings, *callback)
    _record_delivery(db, job)


def register() -> None:
    jobs.register_handler("batch.completed", _deliver_batch_completed, policy=retry_policy)
    jobs.register_handler("project.completed", _record_delivery)
