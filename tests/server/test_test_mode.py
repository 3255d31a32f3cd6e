"""Test keys: tasks complete at once with their type's placeholder answer (Scale's test mode)."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from labelmill.simulate.kinds import synthetic_kind
from labelmill.tasktypes import get_task_type, task_type_names
from tests.factory import Factory, auth


@pytest.mark.parametrize("name", task_type_names())
def test_test_key_tasks_complete_at_once_with_a_valid_placeholder(
    client: TestClient, factory: Factory, name: str
) -> None:
    kind, task_type = synthetic_kind(name), get_task_type(name)
    assert kind is not None and task_type is not None
    org = factory.org()
    test_key = factory.key(org, "owner", test=True)
    project = client.post(
        "/api/projects",
        json={"name": name, "task_type": name, "params": kind.project_params(), "min_labels": 2},
        headers=auth(test_key),
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    project_params = project.json()["params"]
    batch = client.post(
        f"/api/projects/{project_id}/batches",
        json={"name": "b", "start": True},
        headers=auth(test_key),
    )
    assert batch.status_code == 201, batch.text
    rng = random.Random(3)
    tasks = [{"params": kind.task(i, rng)[0]} for i in range(3)]
    created = client.post(
        f"/api/projects/{project_id}/tasks",
        json={"batch_id": batch.json()["id"], "tasks": tasks},
        headers=auth(test_key),
    )
    assert created.status_code == 201, created.text
    for task_id in created.json()["task_ids"]:
        task = client.get(f"/api/tasks/{task_id}", headers=auth(test_key)).json()
        assert task["status"] == "completed" and task["completed_at"] is not None
        assert task["n_annotations"] == 0 and task["confidence"] is None
        clean = task_type.validate_response(task["response"], project_params, task["params"])
        assert clean == task["response"]
    finished = client.get(f"/api/batches/{batch.json()['id']}", headers=auth(test_key)).json()
    assert finished["status"] == "completed"


def test_live_key_tasks_wait_for_the_workforce(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2)
    for task_id in project.task_ids:
        task = client.get(f"/api/tasks/{task_id}", headers=auth(org.key)).json()
        assert task["status"] == "pending" and task["response"] is None
