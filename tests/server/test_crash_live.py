"""Invariant 3 and lease recovery: a server killed with SIGKILL under load.

16 annotators hammer a ``labelmill serve`` subprocess; a few more hold leases without
submitting. The server is SIGKILLed mid-run and started again on the same data. Then:
every submission it acknowledged with a 200 is in the database; the leases that were live
at the crash expire at their expiry time (not before, and not much later); their tasks are
served again and the project completes with exactly its label targets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.models import Annotation, Assignment
from tests.conftest import Backend
from tests.factory import Factory, auth
from tests.live_server import wait_for
from tests.server.conftest import SpawnServer, over_assigned, slot_use
from tests.server.workload import Behaviour, RunLog, run_annotators

LEASE_SECONDS = 5  # the smallest a project allows
SWEEP_SECONDS = 0.3
ON_TIME_SLACK = timedelta(seconds=3)


def _live_leases(db: Database, project_id: int) -> dict[int, tuple[int, datetime]]:
    with db.read_session() as session:
        rows = session.execute(
            select(Assignment.id, Assignment.task_id, Assignment.expires_at).where(
                Assignment.project_id == project_id, Assignment.status == "leased"
            )
        ).all()
    return {int(a): (int(t), e) for a, t, e in rows}


def test_sigkill_under_load_loses_no_acknowledged_submission(
    backend: Backend, db: Database, factory: Factory, spawn_server: SpawnServer
) -> None:
    org = factory.org()
    project = factory.project(
        org, n_tasks=60, min_labels=2, max_labels=2, lease_seconds=LEASE_SECONDS
    )
    busy = [factory.worker(org).key for _ in range(16)]
    holders = [factory.worker(org).key for _ in range(4)]
    fresh = [factory.worker(org).key for _ in range(8)]
    server = spawn_server(LABELMILL_LEASE_SWEEP_SECONDS=str(SWEEP_SECONDS))

    # Leases that will certainly be live at the crash: taken and never submitted.
    for key in holders:
        lease = httpx.post(
            f"{server.base_url}/api/work/projects/{project.id}/next", headers=auth(key)
        )
        assert lease.status_code == 200, lease.text

    log = RunLog()
    killed_at: list[datetime] = []

    def kill_when_loaded() -> None:
        if not killed_at and len(log.acked) >= 40:
            server.kill()
            killed_at.append(datetime.now(UTC))

    run_annotators(
        base_urls=[server.base_url],
        keys=busy,
        project_id=project.id,
        behaviour=Behaviour(skip_rate=0.0, heartbeat_rate=0.0),
        seconds=60,
        until=lambda: bool(killed_at),
        log=log,
        on_tick=kill_when_loaded,
        stop_on_transport_error=True,
    )
    assert killed_at, f"the load never reached 40 acknowledged submissions: {log}"
    assert log.unexpected == []
    acked = {a.annotation_id: a for a in log.acked}
    assert len(acked) >= 40

    live_at_crash = _live_leases(db, project.id)
    assert len(live_at_crash) >= len(holders)

    server.start()  # same port, same data
    restarted_at = datetime.now(UTC)

    # 1. Every acknowledged submission survived, through the API and in the rows.
    with db.read_session() as session:
        stored = set(
            session.scalars(select(Annotation.id).where(Annotation.project_id == project.id))
        )
    missing = set(acked) - stored
    assert not missing, f"acknowledged submissions lost in the crash: {sorted(missing)}"
    with httpx.Client(base_url=server.base_url, headers=auth(org.key), timeout=30) as http:
        for task_id in {a.task_id for a in acked.values()}:
            listed = http.get(f"/api/tasks/{task_id}/annotations", params={"limit": 1000})
            assert listed.status_code == 200
            ids = {row["id"] for row in listed.json()["data"]}
            assert {a for a, v in acked.items() if v.task_id == task_id} <= ids

    # 2. The leases live at the crash expire on time, as watched from outside (the rows'
    # own timestamps come from the same code under test): never seen ended before their
    # expiry, never seen still leased a sweep period (plus slack) after it or after the
    # restart, whichever is later.
    seen_leased_at: dict[int, datetime] = {}
    seen_ended_at: dict[int, datetime] = {}

    def watch() -> bool:
        before = datetime.now(UTC)
        with db.read_session() as session:
            rows = session.execute(
                select(Assignment.id, Assignment.status).where(Assignment.id.in_(live_at_crash))
            ).all()
        after = datetime.now(UTC)
        for assignment_id, status in rows:
            if status == "leased":
                seen_leased_at[assignment_id] = before
            else:
                seen_ended_at.setdefault(assignment_id, after)
        return len(seen_ended_at) == len(live_at_crash)

    wait_for(watch, timeout=LEASE_SECONDS + 10, interval=0.05, what="crash-time leases to end")
    with db.read_session() as session:
        statuses = dict(
            session.execute(
                select(Assignment.id, Assignment.status).where(Assignment.id.in_(live_at_crash))
            ).all()
        )
    for assignment_id, (_task, expires_at) in live_at_crash.items():
        assert statuses[assignment_id] == "expired", (assignment_id, statuses[assignment_id])
        assert seen_ended_at[assignment_id] >= expires_at, (
            f"lease {assignment_id} expired early: due {expires_at}, "
            f"seen ended at {seen_ended_at[assignment_id]}"
        )
        if assignment_id in seen_leased_at:
            assert seen_leased_at[assignment_id] <= max(expires_at, restarted_at) + (
                ON_TIME_SLACK
            ), f"lease {assignment_id} still live long after its expiry {expires_at}"

    # 3. Their tasks are served again: fresh annotators finish the whole project.
    def all_done() -> bool:
        return all(u.status == "completed" for u in slot_use(db, project.id))

    drain = run_annotators(
        base_urls=[server.base_url],
        keys=fresh,
        project_id=project.id,
        behaviour=Behaviour(skip_rate=0.0, heartbeat_rate=0.0),
        seconds=60,
        until=all_done,
    )
    assert drain.unexpected == [] and drain.transport_errors == 0
    final = slot_use(db, project.id)
    assert over_assigned(final) == []
    for use in final:
        assert use.status == "completed", use
        assert use.annotations == use.label_target == 2, use
        assert (use.leased, use.counter_leases, use.counter_annotations) == (0, 0, 2), use
    stale_tasks = {task_id for task_id, _expires in live_at_crash.values()}
    with db.read_session() as session:
        relet = set(
            session.scalars(
                select(Assignment.task_id).where(
                    Assignment.task_id.in_(stale_tasks), Assignment.leased_at >= restarted_at
                )
            )
        )
    assert relet == stale_tasks, "a task whose lease was live at the crash was not served again"
