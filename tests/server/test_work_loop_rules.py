"""The work loop's refusals and decisions through the API, on both databases.

On PostgreSQL the two hot calls run through the database functions of migration 0002
(``services/work_pg.py``), on SQLite through ``queue.py``/``submissions.py``: these tests hold
both to the same answers, messages included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from labelmill.server.db.engine import Database
from labelmill.server.services import tenancy
from tests.factory import Factory, WorkerHandle
from tests.server.loop import post_next, post_submit, read_task


def _message(response: Any) -> str:
    return str(response.json()["error"]["message"])


def test_callers_who_may_not_work_are_refused_with_the_same_answers(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2)
    worker = factory.worker(org)
    lease = post_next(client, project.id, worker.key)
    assert lease.status_code == 200, lease.text
    assignment_id = lease.json()["assignment_id"]

    for response in (
        post_next(client, project.id, "lm_live_not-a-key"),
        post_submit(client, assignment_id, "lm_live_not-a-key"),
    ):
        assert response.status_code == 401
        assert _message(response) == "unknown or revoked API key"

    for response in (
        post_next(client, project.id, org.key),
        post_submit(client, assignment_id, org.key),
    ):
        assert response.status_code == 403
        assert _message(response) == "only a person's key can take and submit tasks"

    # A worker of another organization, and one of this organization outside the staffed
    # pool: the project and the assignment do not exist for them.
    other_org = factory.org()
    stranger = factory.worker(other_org)
    unstaffed = factory.worker(org, pool_id=factory.pool(org))
    for outsider in (stranger, unstaffed):
        refused = post_next(client, project.id, outsider.key)
        assert refused.status_code == 404, refused.text
        assert "Project" in _message(refused)
        foreign = post_submit(client, assignment_id, outsider.key)
        assert foreign.status_code == 404, foreign.text
        assert "Assignment" in _message(foreign)
    for missing_id in (0, -1, 2**63 - 1, 2**63):
        assert post_next(client, missing_id, worker.key).status_code in (404, 422)
        assert post_submit(client, missing_id, worker.key).status_code in (404, 422)

    # A revoked key stops working at once, in the middle of a lease.
    with db.write_session() as session:
        tenancy.revoke_key(session=session, prefix=worker.key[:12])
    for response in (
        post_next(client, project.id, worker.key),
        post_submit(client, assignment_id, worker.key),
    ):
        assert response.status_code == 401
    # Nothing was written by any refusal: the lease is still the only one, unsubmitted.
    task = read_task(client, org, lease.json()["task_id"])
    assert (task["n_annotations"], task["status"]) == (0, "pending")


def test_asking_again_returns_the_same_lease_renewed(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=3, lease_seconds=60)
    worker = factory.worker(org)
    first = post_next(client, project.id, worker.key).json()
    again = post_next(client, project.id, worker.key).json()
    assert again["assignment_id"] == first["assignment_id"]
    assert again["task_id"] == first["task_id"]
    assert again["data"] == first["data"]
    assert datetime.fromisoformat(again["expires_at"]) >= datetime.fromisoformat(
        first["expires_at"]
    )
    # Only one slot was taken.
    task = read_task(client, org, first["task_id"])
    assert task["n_annotations"] == 0
    assert post_submit(client, first["assignment_id"], worker.key).status_code == 200
    assert post_submit(client, first["assignment_id"], worker.key).status_code == 409


def _answer_all(
    client: TestClient, project_id: int, workers: list[WorkerHandle], answers: list[str]
) -> int:
    task_id = None
    for worker, answer in zip(workers, answers, strict=True):
        lease = post_next(client, project_id, worker.key)
        assert lease.status_code == 200, lease.text
        task_id = lease.json()["task_id"]
        done = post_submit(client, lease.json()["assignment_id"], worker.key, answer)
        assert done.status_code == 200, done.text
    assert task_id is not None
    return int(task_id)


def _posterior(counts: dict[str, int], n_classes: int = 3, skill: float = 0.7) -> dict[str, float]:
    """One-coin posterior of each class for workers of equal skill (hand formula)."""
    n = sum(counts.values())
    wrong = (1 - skill) / (n_classes - 1)
    classes = ["cat", "dog", "bird"][:n_classes]
    weights = {c: skill ** counts.get(c, 0) * wrong ** (n - counts.get(c, 0)) for c in classes}
    total = sum(weights.values())
    return {c: w / total for c, w in weights.items()}


def test_dynamic_overlap_asks_for_labels_until_confident_or_max_labels(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(4)]
    project = factory.project(org, n_tasks=1, min_labels=2, max_labels=4)

    task_id = _answer_all(client, project.id, workers[:2], ["cat", "dog"])
    task = read_task(client, org, task_id)
    assert (task["status"], task["label_target"]) == ("pending", 3)
    assert abs(task["confidence"] - _posterior({"cat": 1, "dog": 1})["cat"]) < 1e-9

    _answer_all(client, project.id, workers[2:3], ["dog"])
    task = read_task(client, org, task_id)
    confidence = _posterior({"cat": 1, "dog": 2})["dog"]
    assert confidence < 0.95
    assert (task["status"], task["label_target"]) == ("pending", 4)
    assert abs(task["confidence"] - confidence) < 1e-9

    # At max_labels the task completes with its most probable answer, however unsure.
    _answer_all(client, project.id, workers[3:], ["dog"])
    task = read_task(client, org, task_id)
    assert (task["status"], task["response"], task["n_annotations"]) == (
        "completed",
        {"category": "dog"},
        4,
    )
    assert abs(task["confidence"] - _posterior({"cat": 1, "dog": 3})["dog"]) < 1e-9


def test_a_confident_answer_completes_at_min_labels(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    # Two agreeing workers give 0.916: enough for a 0.9 target, not for 0.95.
    assert 0.9 < _posterior({"dog": 2})["dog"] < 0.95
    easy = factory.project(org, n_tasks=1, min_labels=2, max_labels=3, confidence_target=0.9)
    strict = factory.project(org, n_tasks=1, min_labels=2, max_labels=3)
    easy_task = _answer_all(client, easy.id, workers[:2], ["dog", "dog"])
    strict_task = _answer_all(client, strict.id, workers[:2], ["dog", "dog"])
    assert read_task(client, org, easy_task)["status"] == "completed"
    assert read_task(client, org, strict_task)["label_target"] == 3
    _answer_all(client, strict.id, workers[2:], ["dog"])
    assert read_task(client, org, strict_task)["status"] == "completed"


def test_an_invalid_answer_is_refused_naming_the_field_and_keeps_the_lease(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1)
    worker = factory.worker(org)
    lease = post_next(client, project.id, worker.key).json()
    bad = post_submit(client, lease["assignment_id"], worker.key, "unicorn")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["loc"][0] == "response"
    task = read_task(client, org, lease["task_id"])
    assert task["n_annotations"] == 0
    good = post_submit(client, lease["assignment_id"], worker.key, "cat")
    assert good.status_code == 200, good.text
    assert read_task(client, org, lease["task_id"])["status"] == "completed"
