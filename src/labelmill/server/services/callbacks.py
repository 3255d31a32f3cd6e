"""Task callbacks (DESIGN.md invariant 8; reference/scale_api.md §3.4): the events that POST a
task to its ``callback_url``, written to the outbox in the transaction that causes them.

A task event becomes one ``task.callback`` job per task that has a ``callback_url``; the job
carries only ``{"task_id": …, "event": …}``. Delivery (``labelmill.server.jobs.callbacks``)
reads the task when it runs, so the body shows the task as it is then (a task recalled and
completed again before delivery calls back twice with its newest state), POSTs
``{"task": <Scale task object>, "response": <its response or null>, "task_id": "<id>",
"status": <task status>, "event": <event>}`` with the organization's callback key in the
``scale-callback-auth`` header, and records the outcome in ``task.callback_succeeded``.

Events (``TaskEvent``):

* ``completed`` — the task's answer is settled: a worker's submission completed it (both
  work-loop paths; PostgreSQL's writes the job inside its one submit statement, see
  ``work_pg._SUBMIT_WRITE``), a test key created it, or a reviewer corrected its answer;
* ``error`` — the task went to ``error``;
* ``audit`` — the customer's audit of the task changed (``/v1/task/{id}/audit`` calls
  ``enqueue_task_event(session, [task.id], "audit")``);
* ``recalled`` — a completed task went back to ``pending`` (a reviewer rejected its answer).

The organization's callback key (``Organization.callback_secret``) is read and rotated here
too; receivers compare the header with it, as Scale's sample receiver does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from labelmill.server.db.base import utcnow
from labelmill.server.errors import NotFound
from labelmill.server.models import Job, Organization, Task
from labelmill.server.services import audit
from labelmill.server.services.auth import Principal

TASK_CALLBACK_KIND = "task.callback"
CALLBACK_HEADER = "scale-callback-auth"
TaskEvent = Literal["completed", "error", "audit", "recalled"]
TASK_EVENTS: tuple[str, ...] = get_args(TaskEvent)
# The attempts a new callback job is written with; the worker applies the configured
# ``callback_max_attempts`` when it runs the job (services/jobs.py, per-kind retry policy).
DEFAULT_MAX_ATTEMPTS = 20

_job = cast(Table, Job.__table__)
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """A task the caller knows has a ``callback_url``, with its organization (no lookup)."""

    task_id: int
    org_id: int


def _targets(
    session: Session, tasks: Iterable[int | Task | CallbackTarget]
) -> list[tuple[int, int]]:
    """(task id, org id) of the given tasks that have a callback URL, in the given order."""
    found: list[tuple[int, int]] = []
    ids: list[int] = []
    for item in tasks:
        if isinstance(item, CallbackTarget):
            found.append((item.task_id, item.org_id))
        elif isinstance(item, Task):
            if item.callback_url:
                found.append((item.id, item.org_id))
        else:
            ids.append(item)
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        rows = session.execute(
            select(Task.id, Task.org_id)
            .where(Task.id.in_(chunk), Task.callback_url.is_not(None))
            .order_by(Task.id)
        )
        found.extend((int(task_id), int(org_id)) for task_id, org_id in rows)
    return found


def enqueue_task_event(
    session: Session, tasks: Iterable[int | Task | CallbackTarget], event: TaskEvent
) -> int:
    """Queue ``event`` for each of ``tasks`` (ids, rows, or ``CallbackTarget``) that has a
    ``callback_url``, in the caller's transaction; tasks without one are skipped. Returns how
    many jobs were written.

    Built for bulk: ids are looked up 500 at a time and the jobs go in with one
    ``executemany`` (a test key may complete 10,000 tasks in one request).
    """
    if event not in TASK_EVENTS:
        raise ValueError(f"unknown task event {event!r}; one of {', '.join(TASK_EVENTS)}")
    targets = _targets(session, tasks)
    if not targets:
        return 0
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "kind": TASK_CALLBACK_KIND,
            "org_id": org_id,
            "payload": {"task_id": task_id, "event": event},
            "status": "pending",
            "attempts": 0,
            "max_attempts": DEFAULT_MAX_ATTEMPTS,
            "run_after": now,
            "created_at": now,
        }
        for task_id, org_id in targets
    ]
    session.connection().execute(insert(_job), rows)
    return len(rows)


def is_deliverable_url(url: str | None) -> bool:
    """Whether ``url`` is one callbacks are POSTed to (http or https; Scale's e-mail
    addresses are not delivered)."""
    return url is not None and url.lower().startswith(("http://", "https://"))


def _org(session: Session, org_id: int | None, *, lock: bool = False) -> Organization:
    if org_id is None:
        raise NotFound("Organization", 0)
    query = select(Organization).where(Organization.id == org_id)
    org = session.scalar(query.with_for_update() if lock else query)
    if org is None:
        raise NotFound("Organization", org_id)
    return org


def callback_key(*, session: Session, org_id: int | None) -> str:
    """The organization's callback key: the value of the ``scale-callback-auth`` header of
    every callback it receives."""
    return _org(session, org_id).callback_secret


def rotate_callback_key(*, session: Session, org_id: int | None, actor: Principal | None) -> str:
    """Replace the organization's callback key with a new random one and return it.
    Callbacks delivered from then on (retries of older events included) carry the new key."""
    org = _org(session, org_id, lock=True)
    org.callback_secret = secrets.token_urlsafe(32)
    audit.record(
        session=session,
        actor=actor,
        org_id=org.id,
        action="org.rotate_callback_key",
        object_type="organization",
        object_id=org.id,
    )
    return org.callback_secret
