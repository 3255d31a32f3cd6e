"""Exports carry exactly what the API shows for each task, on both databases."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from tests.factory import Factory, auth

AWKWARD = [
    {"attachment": 'quotes " and \\ backslash', "attachment_type": "text"},
    {"attachment": "line\nbreak, comma; tab\tend", "attachment_type": "text"},
    {"attachment": "unicode: 猫 🐈 ü \u2028", "attachment_type": "website"},
    {"attachment": "literal \\u0000 is not a NUL", "attachment_type": "text"},
]


def _project_with_awkward_tasks(client: TestClient, factory: Factory) -> tuple[str, int]:
    org = factory.org()
    project = factory.project(org, n_tasks=0, min_labels=1)
    tasks = [
        {
            "params": params,
            "unique_id": f"u{i}",
            "metadata": {"source": params["attachment"], "n": i, "nested": {"x": [1, None]}},
            "tags": ["a|b", f"t{i}"] if i % 2 else [],
        }
        for i, params in enumerate(AWKWARD)
    ]
    created = client.post(
        f"/api/projects/{project.id}/tasks", json={"tasks": tasks}, headers=auth(org.key)
    )
    assert created.status_code == 201, created.text
    worker = factory.worker(org)
    lease = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
    submitted = client.post(
        f"/api/work/assignments/{lease.json()['assignment_id']}/submit",
        json={"response": {"category": "dog"}},
        headers=auth(worker.key),
    )
    assert submitted.status_code == 200
    return org.key, project.id


def _api_tasks(client: TestClient, key: str, project_id: int) -> dict[int, dict[str, object]]:
    listed = client.get(f"/api/projects/{project_id}/tasks", headers=auth(key)).json()["data"]
    return {task["id"]: task for task in listed}


def test_jsonl_export_matches_the_api(client: TestClient, factory: Factory) -> None:
    key, project_id = _project_with_awkward_tasks(client, factory)
    expected = _api_tasks(client, key, project_id)
    exported = client.get(
        f"/api/projects/{project_id}/export", params={"status": "all"}, headers=auth(key)
    )
    assert exported.status_code == 200
    # JSONL records end at "\n" only (str.splitlines would also split at U+2028).
    rows = [json.loads(line) for line in exported.text.split("\n") if line]
    assert [row["task_id"] for row in rows] == sorted(expected)
    for row in rows:
        task = expected[row["task_id"]]
        assert row["params"] == task["params"]
        assert row["metadata"] == task["metadata"]
        assert row["tags"] == task["tags"]
        assert row["response"] == task["response"]
        assert row["unique_id"] == task["unique_id"]
        assert row["n_labels"] == task["n_annotations"]
        assert row["status"] == task["status"]
    assert sum(row["status"] == "completed" for row in rows) == 1


def test_csv_export_matches_the_api(client: TestClient, factory: Factory) -> None:
    key, project_id = _project_with_awkward_tasks(client, factory)
    expected = _api_tasks(client, key, project_id)
    exported = client.get(
        f"/api/projects/{project_id}/export",
        params={"status": "all", "format": "csv"},
        headers=auth(key),
    )
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(AWKWARD)
    for row in rows:
        task = expected[int(row["task_id"])]
        assert json.loads(row["params"]) == task["params"]
        assert json.loads(row["metadata"]) == task["metadata"]
        assert row["tags"] == "|".join(task["tags"])  # type: ignore[arg-type]
        response = task["response"]
        assert row["category"] == (response["category"] if response else "")  # type: ignore[index]
