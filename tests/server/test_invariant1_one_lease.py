"""Invariant 1: a worker never holds two live leases on the same task and never annotates a
task twice, whatever order or concurrency its requests come in."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labelmill.server.db.engine import Database
from labelmill.server.models import Annotation, Assignment
from tests.factory import Factory, auth
from tests.live_server import serve_in_thread
from tests.server.conftest import over_assigned, slot_use
from tests.server.loop import post_next, post_submit


def test_next_again_returns_the_held_lease_renewed(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=3, min_labels=2)
    worker = factory.worker(org)
    first = post_next(client, project.id, worker.key).json()
    second = post_next(client, project.id, worker.key).json()
    assert second["assignment_id"] == first["assignment_id"]
    assert second["task_id"] == first["task_id"]
    assert second["expires_at"] >= first["expires_at"]


def test_submit_twice_is_409_and_stores_one_annotation(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, min_labels=3)
    worker = factory.worker(org)
    lease = post_next(client, project.id, worker.key).json()
    assert post_submit(client, lease["assignment_id"], worker.key).status_code == 200
    again = post_submit(client, lease["assignment_id"], worker.key, "dog")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    # The task still has open slots, but never again for this worker.
    assert post_next(client, project.id, worker.key).status_code == 204
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 1
    task = client.get(f"/api/tasks/{project.task_ids[0]}", headers=auth(org.key)).json()
    assert (task["n_annotations"], task["status"]) == (1, "pending")


def test_skipped_or_expired_task_is_never_offered_again(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=2)
    worker = factory.worker(org)
    first = post_next(client, project.id, worker.key).json()
    skipped = client.post(
        f"/api/work/assignments/{first['assignment_id']}/skip", headers=auth(worker.key)
    )
    assert skipped.status_code == 204
    second = post_next(client, project.id, worker.key).json()
    assert second["task_id"] != first["task_id"]
    assert post_submit(client, second["assignment_id"], worker.key).status_code == 200
    assert post_next(client, project.id, worker.key).status_code == 204
    # A skipped lease cannot be submitted afterwards.
    late = post_submit(client, first["assignment_id"], worker.key)
    assert late.status_code == 409


def test_another_workers_assignment_is_not_found(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, min_labels=2)
    owner, other = factory.worker(org), factory.worker(org)
    lease = post_next(client, project.id, owner.key).json()
    for action in ("submit", "heartbeat", "skip"):
        response = client.post(
            f"/api/work/assignments/{lease['assignment_id']}/{action}",
            json={"response": {"category": "cat"}} if action == "submit" else None,
            headers=auth(other.key),
        )
        assert response.status_code == 404, (action, response.text)


def test_concurrent_duplicate_requests_of_one_worker(
    app: FastAPI, db: Database, factory: Factory
) -> None:
    """Bursts of simultaneous next (then submit) calls by one worker, over real HTTP: one
    lease per burst, never two annotations of one task, counters exact."""
    org = factory.org()
    project = factory.project(org, n_tasks=12, min_labels=2)
    worker = factory.worker(org)
    burst = 8
    statuses: Counter[int] = Counter()

    def fire(base_url: str, method_path: str, body: object, out: list[httpx.Response]) -> None:
        with httpx.Client(base_url=base_url, headers=auth(worker.key), timeout=30) as http:
            barrier.wait()
            out.append(http.post(method_path, json=body))

    with serve_in_thread(app) as base_url:
        for _round in range(6):
            nexts: list[httpx.Response] = []
            barrier = threading.Barrier(burst)
            threads = [
                threading.Thread(
                    target=fire,
                    args=(base_url, f"/api/work/projects/{project.id}/next", None, nexts),
                )
                for _ in range(burst)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses.update(r.status_code for r in nexts)
            assert {r.status_code for r in nexts} <= {200, 409}, [r.text for r in nexts]
            leases = {r.json()["assignment_id"] for r in nexts if r.status_code == 200}
            # One lease per burst: a worker's concurrent requests must not burn a slot on
            # each of several tasks (the later ones get the held lease back).
            assert len(leases) == 1, leases
            # Submit every lease this worker got, each from several threads at once.
            submits: list[httpx.Response] = []
            barrier = threading.Barrier(burst)
            ids = sorted(leases)
            threads = [
                threading.Thread(
                    target=fire,
                    args=(
                        base_url,
                        f"/api/work/assignments/{ids[i % len(ids)]}/submit",
                        {"response": {"category": "cat"}},
                        submits,
                    ),
                )
                for i in range(burst)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert {r.status_code for r in submits} <= {200, 409}, [r.text for r in submits]
            ok = [r for r in submits if r.status_code == 200]
            assert len(ok) == len(ids), "each lease is accepted exactly once"

    with db.read_session() as session:
        twice = session.execute(
            select(Annotation.task_id, func.count())
            .where(Annotation.worker_id == worker.user_id)
            .group_by(Annotation.task_id)
            .having(func.count() > 1)
        ).all()
        live_twice = session.execute(
            select(Assignment.task_id, func.count())
            .where(Assignment.worker_id == worker.user_id, Assignment.status == "leased")
            .group_by(Assignment.task_id)
            .having(func.count() > 1)
        ).all()
    assert twice == [] and live_twice == []
    uses = slot_use(db, project.id)
    assert over_assigned(uses) == []
    for use in uses:
        assert (use.counter_leases, use.counter_annotations) == (use.leased, use.annotations)
    assert statuses[200] >= 6
