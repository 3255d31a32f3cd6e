"""Fixtures of the server tests: live server subprocesses and database-level checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelmill.server.db.engine import Database
from labelmill.server.models import Annotation, Assignment, Task
from tests.conftest import Backend
from tests.live_server import LiveServer, server_env

SpawnServer = Callable[..., LiveServer]


@pytest.fixture
def spawn_server(backend: Backend, tmp_path: Path) -> Iterator[SpawnServer]:
    """``spawn_server(**env)``: a started ``labelmill serve`` subprocess on the test's
    database; ``env`` adds ``LABELMILL_*`` settings. Every server is stopped afterwards."""
    servers: list[LiveServer] = []

    def spawn(**overrides: str) -> LiveServer:
        env = server_env(backend.settings, **overrides)
        server = LiveServer(env=env, log_path=tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        return server.start()

    yield spawn
    for server in servers:
        server.stop()


@dataclass(frozen=True)
class SlotUse:
    """A task's label target against what occupies it, counted from the rows themselves
    (not from the task's own counters)."""

    task_id: int
    status: str
    label_target: int
    leased: int
    annotations: int
    counter_leases: int
    counter_annotations: int


def slot_use(db: Database, project_id: int) -> list[SlotUse]:
    """One consistent snapshot (a single statement) of every regular task's slots."""
    leased = (
        select(func.count())
        .where(Assignment.task_id == Task.id, Assignment.status == "leased")
        .correlate(Task)
        .scalar_subquery()
    )
    annotated = (
        select(func.count()).where(Annotation.task_id == Task.id).correlate(Task).scalar_subquery()
    )
    query = (
        select(
            Task.id,
            Task.status,
            Task.label_target,
            leased,
            annotated,
            Task.open_leases,
            Task.n_annotations,
        )
        .where(Task.project_id == project_id, Task.is_gold.is_(False))
        .order_by(Task.id)
    )
    with db.read_session() as session:
        return [SlotUse(*row) for row in session.execute(query)]


def over_assigned(uses: list[SlotUse]) -> list[SlotUse]:
    """Tasks with more live leases + annotations than their label target (invariant 2)."""
    return [u for u in uses if u.leased + u.annotations > u.label_target]
