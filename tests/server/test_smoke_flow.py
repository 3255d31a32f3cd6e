"""The whole loop through the real app: create, lease, submit, complete, export."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factory import Factory, auth


def test_end_to_end_majority(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=3, max_labels=5)
    workers = [factory.worker(org) for _ in range(3)]
    for worker in workers:
        for _ in range(2):
            lease = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
            assert lease.status_code == 200, lease.text
            body = lease.json()
            assert "gold" not in str(body).lower()
            result = client.post(
                f"/api/work/assignments/{body['assignment_id']}/submit",
                json={"response": {"category": "dog"}},
                headers=auth(worker.key),
            )
            assert result.status_code == 200, result.text
        none_left = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
        assert none_left.status_code == 204
    task = client.get(f"/api/tasks/{project.task_ids[0]}", headers=auth(org.key)).json()
    assert task["status"] == "completed"
    assert task["response"] == {"category": "dog"}
    assert task["n_annotations"] == 3
    # One-coin posterior of three agreeing workers of unknown skill (0.7) among 3 classes.
    agree, other = 0.7**3, ((1 - 0.7) / 2) ** 3
    assert abs(task["confidence"] - agree / (agree + 2 * other)) < 1e-9
    export = client.get(f"/api/projects/{project.id}/export", headers=auth(org.key))
    assert export.status_code == 200
    assert len(export.text.strip().splitlines()) == 2
