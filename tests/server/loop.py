"""One annotator's step through the API, for tests of what the work loop decides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factory import OrgHandle, WorkerHandle, auth


def post_next(client: TestClient, project_id: int, key: str) -> Any:
    """The raw response of asking for the next task with ``key``."""
    return client.post(f"/api/work/projects/{project_id}/next", headers=auth(key))


def post_submit(client: TestClient, assignment_id: int, key: str, category: str = "cat") -> Any:
    """The raw response of answering ``category`` on an assignment with ``key``."""
    return client.post(
        f"/api/work/assignments/{assignment_id}/submit",
        json={"response": {"category": category}},
        headers=auth(key),
    )


def answer_next(client: TestClient, project_id: int, worker: WorkerHandle, category: str) -> int:
    """Lease the worker's next task in the project and answer ``category``; its task id."""
    lease = post_next(client, project_id, worker.key)
    assert lease.status_code == 200, lease.text
    done = post_submit(client, lease.json()["assignment_id"], worker.key, category)
    assert done.status_code == 200, done.text
    return int(lease.json()["task_id"])


def read_task(client: TestClient, org: OrgHandle, task_id: int) -> dict[str, Any]:
    response = client.get(f"/api/tasks/{task_id}", headers=auth(org.key))
    assert response.status_code == 200, response.text
    return dict(response.json())
