"""Updates send only the fields given: leaving a field out differs from setting it to null."""

from __future__ import annotations

from typing import Any

import httpx

from ._mock import NOW, Recorder, body, task_json

PROJECT = {
    "id": 1,
    "org_id": 1,
    "name": "p",
    "task_type": "categorization",
    "params": {},
    "params_version": 1,
    "min_labels": 1,
    "max_labels": 3,
    "gold_rate": 0.0,
    "lease_seconds": 300,
    "created_at": NOW,
    "updated_at": NOW,
}


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/api/tasks"):
        return httpx.Response(200, json=task_json(1))
    return httpx.Response(200 if request.method == "PATCH" else 201, json=PROJECT)


def sent(calls: list[Any]) -> list[Any]:
    recorder = Recorder(answer)
    with recorder.client() as client:
        for call in calls:
            call(client)
    return [body(r) for r in recorder.requests]


def test_project_update_sends_only_given_fields() -> None:
    assert sent(
        [
            lambda c: c.projects.update(1, name="q"),
            lambda c: c.projects.update(1, max_labels=None),
            lambda c: c.projects.update(1),
        ]
    ) == [{"name": "q"}, {"max_labels": None}, {}]


def test_project_create_leaves_defaults_to_the_server() -> None:
    assert sent(
        [
            lambda c: c.projects.create("p", "categorization", {"categories": ["a", "b"]}),
            lambda c: c.projects.create("p", "categorization", {}, min_labels=2, gold_rate=0.1),
        ]
    ) == [
        {"name": "p", "task_type": "categorization", "params": {"categories": ["a", "b"]}},
        {
            "name": "p",
            "task_type": "categorization",
            "params": {},
            "min_labels": 2,
            "gold_rate": 0.1,
        },
    ]


def test_task_update_sends_only_given_fields() -> None:
    assert sent(
        [lambda c: c.tasks.update(1, priority=3), lambda c: c.tasks.update(1, tags=[])]
    ) == [{"priority": 3}, {"tags": []}]
