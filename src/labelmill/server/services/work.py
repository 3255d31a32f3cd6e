"""The two calls every annotator makes in a loop, from an API key to a result.

Authentication shares the unit of work (one connection, one transaction). PostgreSQL takes
the short path of ``work_pg`` (the same rules in fewer round trips); every other database
runs ``queue.next_task`` and ``submissions.submit`` in a write session.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from labelmill.server.db.engine import Database
from labelmill.server.policies import require_worker
from labelmill.server.services import queue, submissions, work_pg
from labelmill.server.services.auth import authenticate


def lease_next(
    db: Database, *, secret: str, project_id: int, now: datetime, rng: random.Random
) -> queue.Lease | None:
    if db.is_postgres:
        return work_pg.lease_next(
            db, secret=secret, project_id=project_id, now=now, gold_roll=rng.random()
        )
    with db.write_session() as session:
        worker_id = require_worker(authenticate(session=session, secret=secret))
        return queue.next_task(
            session=session, project_id=project_id, worker_id=worker_id, now=now, rng=rng
        )


def submit(
    db: Database,
    *,
    secret: str,
    assignment_id: int,
    response: dict[str, Any],
    duration_ms: int | None,
    now: datetime,
    rng: random.Random,
) -> submissions.Submitted:
    review_roll = rng.random()  # whether a completed task is sampled for review
    if db.is_postgres:
        return work_pg.submit(
            db,
            secret=secret,
            assignment_id=assignment_id,
            response=response,
            duration_ms=duration_ms,
            now=now,
            review_roll=review_roll,
        )
    with db.write_session() as session:
        worker_id = require_worker(authenticate(session=session, secret=secret))
        return submissions.submit(
            session=session,
            assignment_id=assignment_id,
            worker_id=worker_id,
            response=response,
            duration_ms=duration_ms,
            now=now,
            review_roll=review_roll,
        )
