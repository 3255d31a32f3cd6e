"""Writes that race each other over real HTTP: the first one wins, nothing is a 500."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.factory import Factory, auth
from tests.live_server import serve_in_thread

THREADS = 4


def _race(
    base_url: str, key: str, call: Callable[[httpx.Client, int], httpx.Response]
) -> list[int]:
    """Run ``call`` from THREADS threads released at once; their status codes."""
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        with httpx.Client(base_url=base_url, headers=auth(key), timeout=60) as http:
            barrier.wait()
            status = call(http, index).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_first_imports_into_the_default_batch_all_succeed(app: FastAPI, factory: Factory) -> None:
    """Every import may be the one that creates the project's default batch."""
    org = factory.org()
    projects = [factory.project(org) for _ in range(3)]
    with serve_in_thread(app) as base_url:
        for project in projects:

            def import_tasks(
                http: httpx.Client, index: int, project_id: int = project.id
            ) -> httpx.Response:
                tasks = [{"params": {"attachment": f"{index}-{i}"}} for i in range(50)]
                return http.post(f"/api/projects/{project_id}/tasks", json={"tasks": tasks})

            assert _race(base_url, org.key, import_tasks) == [201] * THREADS
            with httpx.Client(base_url=base_url, headers=auth(org.key)) as http:
                batches = http.get(f"/api/projects/{project.id}/batches").json()["data"]
                assert sorted(b["name"] for b in batches) == ["b1", "default"]
                default = next(b for b in batches if b["name"] == "default")
                tasks = http.get(
                    f"/api/projects/{project.id}/tasks",
                    params={"batch_id": default["id"], "limit": 500},
                ).json()["data"]
                assert len(tasks) == 50 * THREADS


def test_batches_of_one_name_created_at_once_give_one_batch_and_conflicts(
    app: FastAPI, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org)
    with serve_in_thread(app) as base_url:

        def create(http: httpx.Client, _index: int) -> httpx.Response:
            return http.post(f"/api/projects/{project.id}/batches", json={"name": "same"})

        statuses = _race(base_url, org.key, create)
        assert statuses.count(201) == 1 and statuses.count(409) == THREADS - 1, statuses
        with httpx.Client(base_url=base_url, headers=auth(org.key)) as http:
            names = [
                b["name"] for b in http.get(f"/api/projects/{project.id}/batches").json()["data"]
            ]
        assert names.count("same") == 1
