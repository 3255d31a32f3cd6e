"""Handlers of database upkeep jobs (see ``labelmill.server.services.maintenance``)."""

from __future__ import annotations

from sqlalchemy import text

from labelmill.server.db.engine import Database
from labelmill.server.models import Job
from labelmill.server.services import jobs
from labelmill.server.services.maintenance import ANALYZE_KIND


def _analyze_tasks(db: Database, _job: Job) -> None:
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE task"))
        connection.commit()


def register() -> None:
    jobs.register_handler(ANALYZE_KIND, _analyze_tasks)
