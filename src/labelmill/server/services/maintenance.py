"""Database upkeep requested by the services and carried out by background jobs.

After a large import PostgreSQL has no statistics for the new rows until autovacuum gets
to them (a minute or more), and meanwhile plans the work queue's query badly (a benchmark
saw next-task at 93 ms instead of 5). Imports therefore queue an ``ANALYZE``, run by
``labelmill.server.jobs.maintenance``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from labelmill.server.db.base import utcnow
from labelmill.server.models import Job
from labelmill.server.services import jobs

ANALYZE_KIND = "db.analyze_tasks"
# Imports smaller than this change the statistics too little to matter.
ANALYZE_AFTER_ROWS = 5_000
# An import arrives as many requests of 10,000: wait for the burst to end so it is analysed
# once, not once per request while the import is still running.
ANALYZE_DELAY = timedelta(seconds=10)


def request_analyze(*, session: Session, rows_added: int) -> None:
    """Queue one statistics refresh after a large import (one pending at a time)."""
    if rows_added < ANALYZE_AFTER_ROWS or session.get_bind().dialect.name != "postgresql":
        return
    already = session.scalar(
        select(exists().where(Job.kind == ANALYZE_KIND, Job.status == "pending"))
    )
    if not already:
        job = jobs.enqueue(
            session=session, kind=ANALYZE_KIND, org_id=None, payload={}, max_attempts=3
        )
        job.run_after = utcnow() + ANALYZE_DELAY
