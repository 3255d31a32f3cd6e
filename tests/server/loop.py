"""One annotator's step through the API, for tests of what the work loop decides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factory import OrgHandle, WorkerHandle, auth


def answer_next(client: TestClient, project_id: int, worker: WorkerHandle, category: str) -> int:
    """Lease the worker's next task in the project and answer ``category``; its task id."""
    lease = client.post(f"/api/work/projects/{project_id}/next", headers=auth(worker.key))
    assert lease.status_code == 200, lease.text
    done = client.post(
        f"/api/work/assignments/{lease.json()['assignment_id']}/submit",
        json={"response": {"category": category}},
        headers=auth(worker.key),
    )
    assert done.status_code == 200, done.text
    return int(lease.json()["task_id"])


def read_task(client: TestClient, org: OrgHandle, task_id: int) -> dict[str, Any]:
    response = client.get(f"/api/tasks/{task_id}", headers=auth(org.key))
    assert response.status_code == 200, response.text
    return dict(response.json())
