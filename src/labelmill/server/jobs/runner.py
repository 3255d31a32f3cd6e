"""The background worker: frees expired leases and runs due jobs.

``labelmill serve`` runs one in a thread; ``labelmill worker`` runs more as processes. Any
number may run against one database: claims use row locks, and sweeps are idempotent.
"""

from __future__ import annotations

import logging
import threading
import time

from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.jobs import callbacks, events, maintenance
from labelmill.server.services import batches, jobs, overlap_target, queue, reaggregation

log = logging.getLogger(__name__)


def sweep_leases(db: Database) -> int:
    with db.write_session() as session:
        return queue.expire_leases(session=session, now=utcnow())


def settle_batches(db: Database) -> int:
    with db.write_session() as session:
        return batches.settle_finished_batches(session=session)


def register_handlers() -> None:
    """Register the built-in job handlers (idempotent)."""
    callbacks.register()
    events.register()
    maintenance.register()
    reaggregation.register()


def run_due_jobs(db: Database, limit: int = 100) -> int:
    """Run due jobs until none is due (or ``limit``). Returns how many ran."""
    register_handlers()
    backoff = jobs.Backoff(
        base_seconds=db.settings.job_backoff_base_seconds,
        max_seconds=db.settings.job_backoff_max_seconds,
    )
    ran = 0
    while ran < limit and jobs.run_one(db, backoff):
        ran += 1
    return ran


class BackgroundWorker:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._targets_refreshed_at: float | None = None
        register_handlers()

    def tick(self) -> None:
        sweep_leases(self.db)
        settle_batches(self.db)
        run_due_jobs(self.db)
        now = time.monotonic()
        since = None if self._targets_refreshed_at is None else now - self._targets_refreshed_at
        if since is None or since >= self.db.settings.overlap_refresh_seconds:
            overlap_target.refresh_all(self.db)
            self._targets_refreshed_at = now

    def run_forever(self) -> None:
        interval = min(self.db.settings.worker_poll_seconds, self.db.settings.lease_sweep_seconds)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # keep the worker alive across a transient database error
                log.exception("background worker tick failed")
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="labelmill-worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
