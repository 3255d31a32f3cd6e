"""Delivery of callbacks (DESIGN.md invariant 8; reference/scale_api.md §3.4).

A ``task.callback`` job (``services.callbacks.enqueue_task_event``) POSTs the task, as
``GET /v1/task/{id}`` shows it at delivery time, to the task's ``callback_url``::

    {"task": {...}, "response": <task["response"] or null>, "task_id": "<id>",
     "status": <task status>, "event": "completed" | "error" | "audit" | "recalled"}

as JSON with the organization's callback key in ``scale-callback-auth`` (Scale's header; the
key is the credential, nothing else is signed). A 2xx answer is success and sets
``task.callback_succeeded``; anything else (another status, a refused connection, a timeout)
raises, so the outbox retries with the callback policy of the settings
(``callback_max_attempts``, ``callback_backoff_*``); when the last attempt fails,
``callback_succeeded`` becomes False in the transaction that gives the job up. A task that
no longer exists, belongs to another organization than the job, or lost its URL finishes
the job without delivery. Everything lives in the jobs table, so a restart loses nothing and
a worker that dies mid-delivery leaves a claim that lapses and is delivered again.

No database transaction is open while the receiver answers: the task is read, the session
closed, the POST made, and the outcome written in a new short transaction.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
from sqlalchemy import update
from sqlalchemy.orm import Session

import labelmill
from labelmill.server.db.engine import Database
from labelmill.server.models import Job, Organization, Task
from labelmill.server.scale.task_view import task_object
from labelmill.server.services import jobs
from labelmill.server.services.callbacks import (
    CALLBACK_HEADER,
    TASK_CALLBACK_KIND,
    is_deliverable_url,
)
from labelmill.server.settings import Settings

log = logging.getLogger(__name__)

_USER_AGENT = f"labelmill-callbacks/{labelmill.__version__}"


class CallbackRefused(RuntimeError):
    """The receiver answered something other than 2xx."""


def retry_policy(settings: Settings) -> jobs.RetryPolicy:
    """The callbacks' retries: ``callback_max_attempts`` attempts with exponential backoff
    from ``callback_backoff_base_seconds`` up to ``callback_backoff_max_seconds``."""
    return jobs.RetryPolicy(
        backoff=jobs.Backoff(
            base_seconds=settings.callback_backoff_base_seconds,
            max_seconds=settings.callback_backoff_max_seconds,
        ),
        max_attempts=settings.callback_max_attempts,
    )


def post_callback(settings: Settings, url: str, key: str, body: dict[str, Any]) -> None:
    """POST ``body`` as JSON to ``url`` with the callback key; raise unless 2xx."""
    response = httpx.post(
        url,
        content=orjson.dumps(body),
        headers={
            "content-type": "application/json",
            CALLBACK_HEADER: key,
            "user-agent": _USER_AGENT,
        },
        timeout=settings.callback_timeout_seconds,
        follow_redirects=False,
    )
    if not response.is_success:
        raise CallbackRefused(f"{url} answered HTTP {response.status_code}")


def _task_id(job: Job) -> int | None:
    value = job.payload.get("task_id")
    return value if isinstance(value, int) else None


def _owned_task(session: Session, job: Job) -> Task | None:
    task_id = _task_id(job)
    task = None if task_id is None else session.get(Task, task_id)
    if task is None or task.org_id != job.org_id:
        return None
    return task


def deliver_task_callback(db: Database, job: Job) -> None:
    event = str(job.payload.get("event", "completed"))
    with db.read_session() as session:
        task = _owned_task(session, job)
        if task is None or not is_deliverable_url(task.callback_url):
            log.info("callback job %s: task %s has nothing to deliver", job.id, _task_id(job))
            return
        org = session.get(Organization, task.org_id)
        assert org is not None and task.callback_url is not None
        url, key, task_id = task.callback_url, org.callback_secret, task.id
        shown = task_object(session, task)
    body = {
        "task": shown,
        "response": shown.get("response"),
        "task_id": shown["task_id"],
        "status": shown["status"],
        "event": event,
    }
    post_callback(db.settings, url, key, body)
    with db.write_session() as session:
        session.execute(update(Task).where(Task.id == task_id).values(callback_succeeded=True))


def _record_failure(session: Session, job: Job) -> None:
    """Every attempt failed: the task records it (Scale's ``callback_succeeded: false``)."""
    task = _owned_task(session, job)
    if task is not None:
        task.callback_succeeded = False


def register() -> None:
    jobs.register_handler(
        TASK_CALLBACK_KIND, deliver_task_callback, policy=retry_policy, on_given_up=_record_failure
    )
