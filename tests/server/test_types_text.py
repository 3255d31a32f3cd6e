"""The preference, rating and form types through the real work loop, on both databases:
projects and tasks created through the API, workers answering through /api/work, tasks
settled by their type's aggregator, bad answers refused naming the field, TRL exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelmill.tasktypes import Answer, get_task_type
from tests.factory import Factory, WorkerHandle, auth
from tests.server.loop import (
    check_invalid_answer_is_refused,
    create_project,
    import_tasks,
    post_next,
    read_task,
    submit_response,
)


@dataclass(frozen=True)
class Case:
    task_type: str
    params: dict[str, Any]
    task: dict[str, Any]
    answers: list[dict[str, Any]]
    """Three workers' answers, in order."""
    expected: dict[str, Any]
    """The settled response."""
    labels: int
    """How many answers complete the task (min_labels 2, max_labels 3, target 0.95)."""


CHAT = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"},
    {"role": "assistant", "content": "Goodbye!"},
]


def _chat(q1: int, q3: int, resolved: str) -> dict[str, Any]:
    return {
        "turns": [{"turn": 1, "values": {"quality": q1}}, {"turn": 3, "values": {"quality": q3}}],
        "overall": {"resolved": resolved},
    }


CASES = [
    Case(
        "pairwise_comparison",
        {"criteria": [{"name": "helpfulness"}], "rationale": "optional"},
        {"prompt": "Say hi", "response_a": "Hi!", "response_b": "Go away.", "model_a": "m1"},
        [
            {"choice": "a", "criteria": {"helpfulness": "a"}, "rationale": "polite"},
            {"choice": "b", "criteria": {"helpfulness": "a"}},
            {"choice": "a", "criteria": {"helpfulness": "a"}},
        ],
        {"choice": "a", "criteria": {"helpfulness": "a"}, "rationale": "polite"},
        3,
    ),
    Case(
        "ranking",
        {"instruction": "Best first"},
        {"prompt": "Best?", "responses": ["r0", "r1", "r2"]},
        [{"ranking": [2, 0, 1]}, {"ranking": [[2], [1], [0]]}, {"ranking": [[2], [0], [1]]}],
        {"ranking": [[2], [0], [1]]},
        3,
    ),
    Case(
        "rating",
        {"criteria": [{"name": "helpfulness", "min": 1, "max": 5}]},
        {"text": "Paris is in France."},
        [
            {"ratings": {"helpfulness": 4}},
            {"ratings": {"helpfulness": 5}},
            {"ratings": {"helpfulness": 4}},
        ],
        {"ratings": {"helpfulness": 4.333333}},
        3,
    ),
    Case(
        "text_collection",
        {
            "fields": [
                {"name": "response", "type": "text"},
                {"name": "language", "type": "choice", "choices": ["en", "fr"]},
            ]
        },
        {"prompt": "Say hello"},
        [
            {"fields": {"response": "Hello there", "language": "en"}},
            {"fields": {"response": "hello  there", "language": "en"}},
            {"fields": {"response": "unused", "language": "fr"}},
        ],
        {"fields": {"response": "Hello there", "language": "en"}},
        2,  # free text completes at the label target
    ),
    Case(
        "chat_evaluation",
        {
            "turn_fields": [{"name": "quality", "type": "rating", "min": 1, "max": 5}],
            "overall_fields": [{"name": "resolved", "type": "choice", "choices": ["yes", "no"]}],
        },
        {"messages": CHAT},
        [_chat(4, 3, "yes"), _chat(4, 3, "no"), _chat(4, 5, "yes")],
        {
            "turns": [
                {"turn": 1, "values": {"quality": 4}},
                {"turn": 3, "values": {"quality": 3.666667}},
            ],
            "overall": {"resolved": "yes"},
        },
        3,
    ),
]


def _answer(
    client: TestClient, project_id: int, worker: WorkerHandle, response: dict[str, Any]
) -> int:
    lease = post_next(client, project_id, worker.key)
    assert lease.status_code == 200, lease.text
    done = submit_response(client, lease.json()["assignment_id"], worker.key, response)
    assert done.status_code == 200, done.text
    return int(lease.json()["task_id"])


@pytest.mark.parametrize("case", CASES, ids=[c.task_type for c in CASES])
def test_tasks_settle_through_the_work_loop(
    client: TestClient, factory: Factory, case: Case
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    project_id, batch_id = create_project(
        client, org, case.task_type, case.params, min_labels=2, max_labels=3, confidence_target=0.95
    )
    [task_id] = import_tasks(client, org, project_id, batch_id, [case.task])
    task_type = get_task_type(case.task_type)
    assert task_type is not None
    project = client.get(f"/api/projects/{project_id}", headers=auth(org.key)).json()
    view = post_next(client, project_id, workers[0].key).json()["data"]
    assert view == task_type.worker_view(
        project["params"], read_task(client, org, task_id)["params"]
    )
    assert "model_a" not in json.dumps(view)

    for n, (worker, response) in enumerate(zip(workers, case.answers, strict=True), start=1):
        if n > case.labels:
            assert post_next(client, project_id, worker.key).status_code == 204
            break
        assert _answer(client, project_id, worker, response) == task_id
        task = read_task(client, org, task_id)
        assert task["n_annotations"] == n
        assert task["status"] == ("completed" if n == case.labels else "pending"), task
    task = read_task(client, org, task_id)
    assert task["response"] == case.expected
    # The confidence is the type's own, from answers weighted by the prior skill.
    clean = [
        task_type.validate_response(r, project["params"], task["params"])
        for r in case.answers[: case.labels]
    ]
    settled = task_type.settle(
        [Answer(i, r, None) for i, r in enumerate(clean)],
        project_params=project["params"],
        task_params=task["params"],
        confidence_target=0.95,
        at_max_labels=True,
    )
    assert task["confidence"] == pytest.approx(settled.confidence)
    assert 0.0 < task["confidence"] < 1.0


@pytest.mark.parametrize(
    ("task_type", "params", "task", "bad", "loc", "good"),
    [
        (
            "ranking",
            {},
            {"prompt": "Best?", "responses": ["r0", "r1", "r2"]},
            {"ranking": [0, 1, 1]},
            ["response", "ranking", 2],
            {"ranking": [0, 1, 2]},
        ),
        (
            "ranking",
            {},
            {"prompt": "Best?", "responses": ["r0", "r1", "r2"]},
            {"ranking": [[0], [1, 2]]},
            ["response", "ranking", 1],
            {"ranking": [0, 1, 2]},
        ),
        (
            "rating",
            {"criteria": [{"name": "helpfulness", "min": 1, "max": 5}]},
            {"text": "x"},
            {"ratings": {"helpfulness": 7}},
            ["response", "ratings", "helpfulness"],
            {"ratings": {"helpfulness": 5}},
        ),
        (
            "pairwise_comparison",
            {"allow_tie": False},
            {"prompt": "p", "response_a": "a", "response_b": "b"},
            {"choice": "tie"},
            ["response", "choice"],
            {"choice": "b"},
        ),
        (
            "chat_evaluation",
            {"turn_fields": [{"name": "quality", "type": "rating", "min": 1, "max": 5}]},
            {"messages": CHAT},
            {"turns": [{"turn": 1, "values": {"quality": 4}}]},
            ["response", "turns"],
            {
                "turns": [
                    {"turn": 1, "values": {"quality": 4}},
                    {"turn": 3, "values": {"quality": 4}},
                ]
            },
        ),
    ],
)
def test_an_invalid_answer_gets_a_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    factory: Factory,
    task_type: str,
    params: dict[str, Any],
    task: dict[str, Any],
    bad: dict[str, Any],
    loc: list[Any],
    good: dict[str, Any],
) -> None:
    org = factory.org()
    check_invalid_answer_is_refused(
        client, org, factory.worker(org), (task_type, params, task, bad, loc, good)
    )


def test_bad_task_params_are_refused_naming_the_task_and_field(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project_id, batch_id = create_project(client, org, "ranking", {})
    refused = client.post(
        f"/api/projects/{project_id}/tasks",
        json={
            "batch_id": batch_id,
            "tasks": [
                {"params": {"prompt": "ok", "responses": ["a", "b"]}},
                {"params": {"prompt": "one", "responses": ["a"]}},
            ],
        },
        headers=auth(org.key),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["loc"][:4] == ["tasks", 1, "params", "responses"]
    listed = client.get(f"/api/projects/{project_id}/tasks", headers=auth(org.key)).json()
    assert listed["data"] == []


def test_trl_exports_of_settled_tasks(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    worker = factory.worker(org)
    ranking_id, batch_id = create_project(client, org, "ranking", {})
    import_tasks(
        client, org, ranking_id, batch_id, [{"prompt": "Best?", "responses": ["r0", "r1", "r2"]}]
    )
    _answer(client, ranking_id, worker, {"ranking": [1, 2, 0]})
    dpo = client.get(
        f"/api/projects/{ranking_id}/export",
        params={"format": "trl-dpo", "options": json.dumps({"pairs": "all"})},
        headers=auth(org.key),
    )
    assert dpo.status_code == 200, dpo.text
    rows = [json.loads(line) for line in dpo.text.splitlines()]
    assert rows == [
        {"prompt": "Best?", "chosen": "r1", "rejected": "r2"},
        {"prompt": "Best?", "chosen": "r1", "rejected": "r0"},
        {"prompt": "Best?", "chosen": "r2", "rejected": "r0"},
    ]
    sft_id, batch_id = create_project(
        client, org, "text_collection", {"fields": [{"name": "response", "type": "text"}]}
    )
    import_tasks(client, org, sft_id, batch_id, [{"prompt": "Say hello"}])
    _answer(client, sft_id, worker, {"fields": {"response": "Hello!"}})
    sft = client.get(
        f"/api/projects/{sft_id}/export", params={"format": "trl-sft"}, headers=auth(org.key)
    )
    assert sft.status_code == 200, sft.text
    assert [json.loads(line) for line in sft.text.splitlines()] == [
        {
            "messages": [
                {"role": "user", "content": "Say hello"},
                {"role": "assistant", "content": "Hello!"},
            ]
        }
    ]
    bad = client.get(
        f"/api/projects/{sft_id}/export",
        params={"format": "trl-sft", "options": json.dumps({"completion_field": "nope"})},
        headers=auth(org.key),
    )
    assert bad.status_code == 422 and "completion_field" in bad.text
