"""One annotator's step through the API, for tests of what the work loop decides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factory import OrgHandle, WorkerHandle, auth


def post_next(client: TestClient, project_id: int, key: str) -> Any:
    """The raw response of asking for the next task with ``key``."""
    return client.post(f"/api/work/projects/{project_id}/next", headers=auth(key))


def submit_response(client: TestClient, assignment_id: int, key: str, response: Any) -> Any:
    """The raw response of submitting ``response`` on an assignment with ``key``."""
    return client.post(
        f"/api/work/assignments/{assignment_id}/submit",
        json={"response": response},
        headers=auth(key),
    )


def post_submit(client: TestClient, assignment_id: int, key: str, category: str = "cat") -> Any:
    """The raw response of answering ``category`` on an assignment with ``key``."""
    return submit_response(client, assignment_id, key, {"category": category})


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


def create_project(
    client: TestClient, org: OrgHandle, task_type: str, params: dict[str, Any], **quality: Any
) -> tuple[int, int]:
    """(project id, batch id) of a project made through the API, staffed by the org's pool,
    with a started batch."""
    created = client.post(
        "/api/projects",
        json={"name": task_type, "task_type": task_type, "params": params, **quality},
        headers=auth(org.key),
    )
    assert created.status_code == 201, created.text
    project_id = int(created.json()["id"])
    staffed = client.post(
        f"/api/projects/{project_id}/staffing", json={"pool_id": org.pool_id}, headers=auth(org.key)
    )
    assert staffed.status_code == 201, staffed.text
    batch = client.post(
        f"/api/projects/{project_id}/batches",
        json={"name": "b", "start": True},
        headers=auth(org.key),
    )
    assert batch.status_code == 201, batch.text
    return project_id, int(batch.json()["id"])


def import_tasks(
    client: TestClient,
    org: OrgHandle,
    project_id: int,
    batch_id: int,
    params: list[dict[str, Any]],
) -> list[int]:
    """Ids of new tasks with these params in the batch."""
    created = client.post(
        f"/api/projects/{project_id}/tasks",
        json={"batch_id": batch_id, "tasks": [{"params": p} for p in params]},
        headers=auth(org.key),
    )
    assert created.status_code == 201, created.text
    return [int(t) for t in created.json()["task_ids"]]


def check_invalid_answer_is_refused(
    client: TestClient,
    org: OrgHandle,
    worker: WorkerHandle,
    case: tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], list[Any], dict[str, Any]],
) -> None:
    """``case`` = (task type, project params, task params, bad answer, its error location,
    good answer): the bad answer is a 422 naming the field and changes nothing; the lease is
    kept, so the same worker then answers correctly and the task completes."""
    task_type, params, task, bad, loc, good = case
    project_id, batch_id = create_project(client, org, task_type, params)
    [task_id] = import_tasks(client, org, project_id, batch_id, [task])
    lease = post_next(client, project_id, worker.key).json()
    refused = submit_response(client, lease["assignment_id"], worker.key, bad)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["loc"] == loc
    annotations = client.get(f"/api/tasks/{task_id}/annotations", headers=auth(org.key)).json()
    assert annotations["data"] == []
    assert read_task(client, org, task_id)["n_annotations"] == 0
    accepted = submit_response(client, lease["assignment_id"], worker.key, good)
    assert accepted.status_code == 200, accepted.text
    assert read_task(client, org, task_id)["status"] == "completed"
