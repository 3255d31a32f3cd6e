"""Invariant 5 (basics): a gold task's known answer never reaches a worker, and a gold task
looks exactly like any other task to the worker; gold is mixed in at the project's rate."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factory import Factory, auth


def _shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_gold_task_is_indistinguishable_and_its_answer_hidden(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    # Gold is served only while regular work remains: rate 1 and two labels per regular
    # task make each worker get the gold task and then the regular one.
    project = factory.project(org, min_labels=2, gold_rate=1.0)
    same = {"attachment": "a photo of a bird", "attachment_type": "text"}
    created = client.post(
        f"/api/projects/{project.id}/tasks",
        json={
            "batch_id": project.batch_id,
            "tasks": [
                {"params": same, "gold_answer": {"category": "bird"}, "metadata": {"m": 1}},
                {"params": same, "metadata": {"m": 1}},
            ],
        },
        headers=auth(org.key),
    )
    assert created.status_code == 201
    gold_id, regular_id = created.json()["task_ids"]

    seen: dict[int, dict[str, Any]] = {}
    submitted: dict[int, dict[str, Any]] = {}
    for _ in range(2):
        worker = factory.worker(org)
        listing = client.get("/api/work/projects", headers=auth(worker.key))
        assert "gold" not in listing.text.lower()
        for _ in range(2):
            lease = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
            assert lease.status_code == 200
            body = lease.json()
            seen[body["task_id"]] = body
            result = client.post(
                f"/api/work/assignments/{body['assignment_id']}/submit",
                # A wrong answer on gold: the worker gets no hint of it either.
                json={"response": {"category": "dog"}},
                headers=auth(worker.key),
            )
            assert result.status_code == 200
            submitted[body["task_id"]] = result.json()
            beat = client.post(
                f"/api/work/assignments/{body['assignment_id']}/heartbeat",
                headers=auth(worker.key),
            )
            assert beat.status_code == 409
            assert "gold" not in beat.text.lower()
            # The worker cannot read the task itself, gold or not.
            direct = client.get(f"/api/tasks/{body['task_id']}", headers=auth(worker.key))
            assert direct.status_code in (403, 404)
            assert "gold_answer" not in direct.text
        if set(seen) == {gold_id, regular_id}:
            break
    assert set(seen) == {gold_id, regular_id}
    gold, regular = seen[gold_id], seen[regular_id]
    assert _shape(gold) == _shape(regular)
    assert gold["data"] == regular["data"]
    assert set(gold) == {
        "assignment_id",
        "task_id",
        "project_id",
        "task_type",
        "data",
        "expires_at",
    }
    for text in (str(gold), str(submitted[gold_id])):
        assert "gold" not in text.lower()
        assert "metadata" not in text
    assert _shape(submitted[gold_id]) == _shape(submitted[regular_id])
    assert submitted[gold_id]["late"] is submitted[regular_id]["late"] is False


def test_gold_is_mixed_in_at_the_projects_rate(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, min_labels=1, gold_rate=0.25)
    tasks = [{"params": {"attachment": f"r{i}"}} for i in range(200)]
    tasks += [
        {"params": {"attachment": f"g{i}"}, "gold_answer": {"category": "cat"}} for i in range(100)
    ]
    created = client.post(
        f"/api/projects/{project.id}/tasks",
        json={"batch_id": project.batch_id, "tasks": tasks},
        headers=auth(org.key),
    )
    assert created.status_code == 201
    gold_ids = set(created.json()["task_ids"][200:])
    worker = factory.worker(org)
    served = 120
    gold_served = 0
    for _ in range(served):
        body = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key)).json()
        gold_served += body["task_id"] in gold_ids
        client.post(
            f"/api/work/assignments/{body['assignment_id']}/submit",
            json={"response": {"category": "cat"}},
            headers=auth(worker.key),
        )
    # Binomial(120, 0.25): mean 30, sd 4.7; these bounds are beyond 4.5 sd.
    assert 9 <= gold_served <= 52, gold_served
    # Gold never completes or counts as project work; regular tasks do.
    counts = client.get(f"/api/batches/{project.batch_id}/counts", headers=auth(org.key)).json()
    assert counts["completed"] == served - gold_served
