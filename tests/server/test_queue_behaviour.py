"""The work queue's rules (DESIGN.md §5) through the API, and the outbox it feeds."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.jobs import events
from labelmill.server.jobs.runner import run_due_jobs, settle_batches, sweep_leases
from labelmill.server.models import Job
from labelmill.server.services import jobs
from labelmill.server.services.maintenance import ANALYZE_AFTER_ROWS, ANALYZE_KIND
from tests.conftest import Backend
from tests.factory import Factory, WorkerHandle, auth
from tests.live_server import serve_in_thread, wait_for


def _next(client: TestClient, project_id: int, worker: WorkerHandle) -> Any:
    return client.post(f"/api/work/projects/{project_id}/next", headers=auth(worker.key))


def _submit(
    client: TestClient, assignment_id: int, worker: WorkerHandle, category: str = "cat"
) -> Any:
    return client.post(
        f"/api/work/assignments/{assignment_id}/submit",
        json={"response": {"category": category}},
        headers=auth(worker.key),
    )


def _work_one(client: TestClient, project_id: int, worker: WorkerHandle) -> int:
    lease = _next(client, project_id, worker)
    assert lease.status_code == 200, lease.text
    assert _submit(client, lease.json()["assignment_id"], worker).status_code == 200
    return int(lease.json()["task_id"])


def test_priority_orders_the_queue(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    priorities = [0, 5, -3, 1, 5]
    project = factory.project(org, n_tasks=5, task_overrides=[{"priority": p} for p in priorities])
    worker = factory.worker(org)
    order = [_work_one(client, project.id, worker) for _ in range(5)]
    ids = project.task_ids
    # Highest priority first; ties in creation order.
    assert order == [ids[1], ids[4], ids[3], ids[0], ids[2]]
    # A changed priority takes effect at once.
    again = factory.project(org, n_tasks=3)
    raised = client.patch(
        f"/api/tasks/{again.task_ids[2]}", json={"priority": 9}, headers=auth(org.key)
    )
    assert raised.status_code == 200
    assert _work_one(client, again.id, worker) == again.task_ids[2]


def test_tasks_closest_to_completion_come_first(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=4, min_labels=3)
    first, second, third = (factory.worker(org) for _ in range(3))
    ids = project.task_ids
    # Worker 1 labels task 0; then worker 2 is sent to task 0 (closest to completion).
    assert _work_one(client, project.id, first) == ids[0]
    assert _work_one(client, project.id, second) == ids[0]
    # Worker 1 moves on to task 1, which then has one label; task 0 has two.
    assert _work_one(client, project.id, first) == ids[1]
    assert _work_one(client, project.id, third) == ids[0]
    task = client.get(f"/api/tasks/{ids[0]}", headers=auth(org.key)).json()
    assert (task["status"], task["n_annotations"]) == ("completed", 3)
    assert _work_one(client, project.id, second) == ids[1]


def test_skip_frees_the_slot_and_is_not_offered_again(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, min_labels=1)
    skipper, other = factory.worker(org), factory.worker(org)
    lease = _next(client, project.id, skipper).json()
    assert _next(client, project.id, other).status_code == 204  # the only slot is taken
    skipped = client.post(
        f"/api/work/assignments/{lease['assignment_id']}/skip", headers=auth(skipper.key)
    )
    assert skipped.status_code == 204
    assert _next(client, project.id, skipper).status_code == 204
    assert _work_one(client, project.id, other) == project.task_ids[0]
    again = client.post(
        f"/api/work/assignments/{lease['assignment_id']}/skip", headers=auth(skipper.key)
    )
    assert again.status_code == 409


def test_heartbeat_renews_until_the_lease_ends(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, min_labels=1, lease_seconds=60)
    worker = factory.worker(org)
    lease = _next(client, project.id, worker).json()
    beat = client.post(
        f"/api/work/assignments/{lease['assignment_id']}/heartbeat", headers=auth(worker.key)
    )
    assert beat.status_code == 200
    renewed = datetime.fromisoformat(beat.json()["expires_at"].replace("Z", "+00:00"))
    assert renewed >= datetime.fromisoformat(lease["expires_at"].replace("Z", "+00:00"))
    assert renewed - datetime.now(UTC) > timedelta(seconds=50)
    assert _submit(client, lease["assignment_id"], worker).status_code == 200
    after = client.post(
        f"/api/work/assignments/{lease['assignment_id']}/heartbeat", headers=auth(worker.key)
    )
    assert after.status_code == 409


def test_expired_lease_frees_its_slot_and_late_work_is_accepted(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, min_labels=1, lease_seconds=5)
    slow, quick = factory.worker(org), factory.worker(org)
    lease = _next(client, project.id, slow).json()
    assert _next(client, project.id, quick).status_code == 204

    # Wait for the expiry by polling the API: next_task sweeps when it finds nothing.
    taken: list[dict[str, Any]] = []

    def quick_gets_it() -> bool:
        response = _next(client, project.id, quick)
        if response.status_code == 200:
            taken.append(response.json())
        return bool(taken)

    wait_for(quick_gets_it, timeout=20, interval=0.2, what="the slot to be freed")
    assert taken[0]["task_id"] == lease["task_id"]
    expires = datetime.fromisoformat(lease["expires_at"].replace("Z", "+00:00"))
    assert datetime.now(UTC) >= expires
    assert sweep_leases(db) == 0  # already swept by next_task

    # The slow worker's work is still accepted and flagged late; the target grows so the
    # quick worker's lease still has its slot.
    late = _submit(client, lease["assignment_id"], slow)
    assert late.status_code == 200 and late.json()["late"] is True
    task = client.get(f"/api/tasks/{lease['task_id']}", headers=auth(org.key)).json()
    assert (task["status"], task["n_annotations"], task["label_target"]) == ("pending", 1, 2)
    on_time = _submit(client, taken[0]["assignment_id"], quick)
    assert on_time.status_code == 200 and on_time.json()["late"] is False
    task = client.get(f"/api/tasks/{lease['task_id']}", headers=auth(org.key)).json()
    assert (task["status"], task["n_annotations"]) == ("completed", 2)
    annotations = client.get(
        f"/api/tasks/{lease['task_id']}/annotations", headers=auth(org.key)
    ).json()["data"]
    assert sorted(a["late"] for a in annotations) == [False, True]
    # Late work on a task that completed meanwhile is refused.
    assert _next(client, project.id, slow).status_code == 204


def test_staging_batch_is_not_served_until_started(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, start=False)
    worker = factory.worker(org)
    assert _next(client, project.id, worker).status_code == 204
    started = client.post(f"/api/batches/{project.batch_id}/start", headers=auth(org.key))
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    assert _next(client, project.id, worker).status_code == 200
    again = client.post(f"/api/batches/{project.batch_id}/start", headers=auth(org.key))
    assert again.status_code == 409


def test_canceled_task_is_not_served_and_its_submission_is_409(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=1)
    worker, other = factory.worker(org), factory.worker(org)
    lease = _next(client, project.id, worker).json()
    canceled = client.post(f"/api/tasks/{lease['task_id']}/cancel", headers=auth(org.key))
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    response = _submit(client, lease["assignment_id"], worker)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    # The other task is still served, the canceled one never.
    assert _work_one(client, project.id, other) != lease["task_id"]
    assert (
        client.post(f"/api/tasks/{lease['task_id']}/cancel", headers=auth(org.key)).status_code
        == 409
    )
    # Canceling the last pending task completes the batch.
    batch = client.get(f"/api/batches/{project.batch_id}", headers=auth(org.key)).json()
    assert batch["status"] == "completed"


def _jobs(client: TestClient, key: str, kind: str) -> list[dict[str, Any]]:
    response = client.get("/api/jobs", params={"kind": kind, "limit": 1000}, headers=auth(key))
    assert response.status_code == 200
    return list(response.json()["data"])


def test_completion_events_are_written_once_and_delivered(
    client: TestClient, db: Database, factory: Factory
) -> None:
    events.register()
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=1)
    worker = factory.worker(org)
    _work_one(client, project.id, worker)
    assert _jobs(client, org.key, "batch.completed") == []
    _work_one(client, project.id, worker)
    (batch_job,) = _jobs(client, org.key, "batch.completed")
    (project_job,) = _jobs(client, org.key, "project.completed")
    assert batch_job["payload"] == {"batch_id": project.batch_id, "project_id": project.id}
    assert project_job["payload"]["project_id"] == project.id
    assert run_due_jobs(db) == 2
    assert run_due_jobs(db) == 0
    audit = client.get("/api/audit", params={"limit": 1000}, headers=auth(org.key)).json()["data"]
    delivered = sorted(e["action"] for e in audit if e["action"].startswith("event."))
    assert delivered == ["event.batch.completed", "event.project.completed"]
    assert {j["status"] for j in _jobs(client, org.key, "batch.completed")} == {"done"}


def test_last_two_tasks_completing_concurrently_emit_events_once(
    app: FastAPI, db: Database, factory: Factory
) -> None:
    """Two workers finish the last two tasks at the same moment (real concurrency on
    PostgreSQL): each event is still written exactly once."""
    org = factory.org()
    rounds = 6
    projects = [factory.project(org, n_tasks=2, min_labels=1) for _ in range(rounds)]
    workers = [factory.worker(org) for _ in range(2)]
    with serve_in_thread(app) as base_url:
        for project in projects:
            leases: list[int] = []
            for worker in workers:
                response = httpx.post(
                    f"{base_url}/api/work/projects/{project.id}/next", headers=auth(worker.key)
                )
                assert response.status_code == 200
                leases.append(response.json()["assignment_id"])
            barrier = threading.Barrier(2)
            results: list[int] = []

            def submit(
                worker: WorkerHandle,
                assignment: int,
                barrier: threading.Barrier,
                results: list[int],
            ) -> None:
                with httpx.Client(base_url=base_url, headers=auth(worker.key)) as http:
                    barrier.wait()
                    results.append(
                        http.post(
                            f"/api/work/assignments/{assignment}/submit",
                            json={"response": {"category": "cat"}},
                        ).status_code
                    )

            threads = [
                threading.Thread(target=submit, args=(w, a, barrier, results))
                for w, a in zip(workers, leases, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert results == [200, 200]
    # A batch whose last two tasks finished at once may be completed by the background
    # worker's settling step instead of by either request; run it (twice: idempotent).
    settle_batches(db)
    settle_batches(db)
    with TestClient(app) as client:
        batch_jobs = _jobs(client, org.key, "batch.completed")
        project_jobs = _jobs(client, org.key, "project.completed")
    assert sorted(j["payload"]["batch_id"] for j in batch_jobs) == sorted(
        p.batch_id for p in projects
    )
    assert sorted(j["payload"]["project_id"] for j in project_jobs) == sorted(
        p.id for p in projects
    )


def test_failing_job_is_retried_with_backoff_then_fails(db: Database, factory: Factory) -> None:
    org = factory.org()
    calls: list[int] = []
    kind = f"test.flaky.{random.randrange(1 << 30)}"

    def flaky(_db: Database, job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) < 3:
            raise RuntimeError(f"boom {len(calls)}")

    jobs.register_handler(kind, flaky)
    backoff = jobs.Backoff(base_seconds=0.3, max_seconds=10)
    with db.write_session() as session:
        flaky_job = jobs.enqueue(session=session, kind=kind, org_id=org.id, payload={})
        session.flush()
        job_id = flaky_job.id

    def load() -> Job:
        with db.read_session() as session:
            job = session.scalar(select(Job).where(Job.id == job_id))
            assert job is not None
            return job

    for attempt in (1, 2):
        before = datetime.now(UTC)
        assert jobs.run_one(db, backoff)
        after = datetime.now(UTC)
        job = load()
        assert (job.status, job.attempts) == ("pending", attempt)
        assert job.last_error is not None and f"boom {attempt}" in job.last_error
        expected = 0.3 * 2 ** (attempt - 1)
        # Exponential delay with ±25 % jitter.
        assert job.run_after - before >= timedelta(seconds=expected * 0.75)
        assert job.run_after - after <= timedelta(seconds=expected * 1.25)
        assert not jobs.run_one(db, backoff), "ran again before its backoff"
        wait_for(lambda due=job.run_after: datetime.now(UTC) >= due, timeout=10, interval=0.02)
    assert jobs.run_one(db, backoff)
    job = load()
    assert (job.status, job.attempts, job.last_error) == ("done", 3, None)
    assert calls == [1, 2, 3]

    # A job that always fails stops at max_attempts.
    def broken(_db: Database, _job: Job) -> None:
        raise ValueError("never works")

    jobs.register_handler(kind + ".broken", broken)
    with db.write_session() as session:
        dead = jobs.enqueue(
            session=session, kind=kind + ".broken", org_id=org.id, payload={}, max_attempts=2
        )
        session.flush()
        dead_id = dead.id
    quick = jobs.Backoff(base_seconds=0.05, max_seconds=0.05)
    wait_for(lambda: not jobs.run_one(db, quick) and _status(db, dead_id) == "failed", timeout=10)
    with db.read_session() as session:
        final = session.get(Job, dead_id)
        assert final is not None
        assert (final.status, final.attempts) == ("failed", 2)
        assert final.last_error is not None and "never works" in final.last_error


def _status(db: Database, job_id: int) -> str:
    with db.read_session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status


def test_unique_id_makes_imports_idempotent(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org)
    other = factory.project(org)
    body = {"tasks": [{"params": {"attachment": str(i)}, "unique_id": f"u{i}"} for i in range(3)]}
    first = client.post(f"/api/projects/{project.id}/tasks", json=body, headers=auth(org.key))
    assert first.status_code == 201 and first.json()["created"] == 3
    body["tasks"].append({"params": {"attachment": "new"}, "unique_id": "u-new"})
    second = client.post(f"/api/projects/{project.id}/tasks", json=body, headers=auth(org.key))
    assert second.status_code == 201
    result = second.json()
    assert result["created"] == 1
    assert [(e["index"], e["unique_id"], e["task_id"]) for e in result["existing"]] == [
        (i, f"u{i}", first.json()["task_ids"][i]) for i in range(3)
    ]
    # unique_id is unique per organization, across its projects.
    elsewhere = client.post(
        f"/api/projects/{other.id}/tasks",
        json={"tasks": [{"params": {}, "unique_id": "u1"}]},
        headers=auth(org.key),
    )
    assert elsewhere.json()["created"] == 0
    listed = client.get(
        f"/api/projects/{project.id}/tasks", params={"unique_id": "u1"}, headers=auth(org.key)
    ).json()["data"]
    assert [t["id"] for t in listed] == [first.json()["task_ids"][1]]


def test_cursor_pagination_and_filters(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(
        org,
        n_tasks=25,
        task_overrides=[{"tags": ["odd"] if i % 2 else ["even", "x"]} for i in range(25)],
    )
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get(
            f"/api/projects/{project.id}/tasks", params=params, headers=auth(org.key)
        ).json()
        seen += [t["id"] for t in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == project.task_ids
    odd = client.get(
        f"/api/projects/{project.id}/tasks",
        params={"tag": "odd", "limit": 1000},
        headers=auth(org.key),
    ).json()["data"]
    assert [t["id"] for t in odd] == project.task_ids[1::2]
    x_tagged = client.get(
        f"/api/projects/{project.id}/tasks", params={"tag": "x", "limit": 5}, headers=auth(org.key)
    ).json()
    assert [t["id"] for t in x_tagged["data"]] == project.task_ids[0::2][:5]
    assert x_tagged["next_cursor"] is not None
    none = client.get(
        f"/api/projects/{project.id}/tasks", params={"tag": "od"}, headers=auth(org.key)
    ).json()
    assert none == {"data": [], "next_cursor": None}
    worker = factory.worker(org)
    _work_one(client, project.id, worker)
    done = client.get(
        f"/api/projects/{project.id}/tasks", params={"status": "completed"}, headers=auth(org.key)
    ).json()["data"]
    assert [t["id"] for t in done] == [project.task_ids[0]]


def test_started_batch_without_tasks_stays_open_for_imports(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """A batch started before its tasks arrive is not 'finished': neither starting it nor
    the background settling step completes it, and tasks can still be added."""
    org = factory.org()
    project = factory.project(org, n_tasks=0, start=False)
    started = client.post(f"/api/batches/{project.batch_id}/start", headers=auth(org.key))
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    settle_batches(db)
    batch = client.get(f"/api/batches/{project.batch_id}", headers=auth(org.key)).json()
    assert batch["status"] == "in_progress"
    created = client.post(
        f"/api/projects/{project.id}/tasks",
        json={"batch_id": project.batch_id, "tasks": [{"params": {"attachment": "x"}}]},
        headers=auth(org.key),
    )
    assert created.status_code == 201, created.text
    assert _jobs(client, org.key, "batch.completed") == []


def test_large_import_queues_one_statistics_refresh_on_postgresql(
    client: TestClient, db: Database, factory: Factory, backend: Backend
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=0)
    for round_ in range(2):
        tasks = [{"params": {"attachment": f"{round_}-{i}"}} for i in range(ANALYZE_AFTER_ROWS)]
        created = client.post(
            f"/api/projects/{project.id}/tasks", json={"tasks": tasks}, headers=auth(org.key)
        )
        assert created.status_code == 201
    with db.read_session() as session:
        kinds = list(session.scalars(select(Job.kind).where(Job.kind == ANALYZE_KIND)))
    # One pending refresh at a time, and only where it helps (PostgreSQL).
    assert kinds == ([ANALYZE_KIND] if backend.is_postgres else [])
    # It waits for the import burst to end: not due yet, so nothing runs now.
    assert run_due_jobs(db) == 0
    with db.write_session() as session:
        for job in session.scalars(select(Job).where(Job.kind == ANALYZE_KIND)):
            job.run_after = datetime.now(UTC)
    assert run_due_jobs(db) == (1 if backend.is_postgres else 0)
    with db.read_session() as session:
        statuses = list(session.scalars(select(Job.status).where(Job.kind == ANALYZE_KIND)))
    assert statuses == (["done"] if backend.is_postgres else [])
