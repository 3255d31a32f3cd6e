"""The project quality report (issue 3): agreement figures, task counts and the worker table,
checked against numbers computed by hand; empty projects give nulls; tenancy and roles."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelmill.quality import shrunk_skill
from labelmill.server.services.quality_report import agreement_stats
from tests.factory import Factory, OrgHandle, ProjectHandle, WorkerHandle, auth
from tests.server.loop import create_project, import_tasks, post_next, submit_response

# Wilson 95% intervals, computed by hand with z = 1.959964:
#   1/1 -> [0.206549, 1]   0/1 -> [0, 0.793451]   3/3 -> [0.438503, 1]   2/3 -> [0.207660, 0.938508]
WILSON_1_OF_1 = (0.206549, 1.0)
WILSON_0_OF_1 = (0.0, 0.793451)
WILSON_3_OF_3 = (0.438503, 1.0)
WILSON_2_OF_3 = (0.207660, 0.938508)


def _work_all(
    client: TestClient,
    project: ProjectHandle,
    worker: WorkerHandle,
    answers: dict[int, str],
    duration_ms: int,
) -> None:
    """Lease and answer tasks until the queue is empty for ``worker``."""
    while True:
        lease = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
        if lease.status_code == 204:
            return
        assert lease.status_code == 200, lease.text
        body = lease.json()
        done = client.post(
            f"/api/work/assignments/{body['assignment_id']}/submit",
            json={"response": {"category": answers[body["task_id"]]}, "duration_ms": duration_ms},
            headers=auth(worker.key),
        )
        assert done.status_code == 200, done.text


def _small_project(
    client: TestClient, factory: Factory
) -> tuple[OrgHandle, ProjectHandle, list[WorkerHandle]]:
    """Three workers answer one gold task (known answer: cat) and three regular tasks:

    ============  ======  ======  ======
    task          A       B       C
    ============  ======  ======  ======
    gold (cat)    cat     cat     dog
    t1            cat     cat     cat
    t2            cat     cat     dog
    t3            dog     bird    dog
    ============  ======  ======  ======
    """
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    project = factory.project(
        org, n_tasks=4, min_labels=3, max_labels=3, gold_rate=1.0, gold={0: "cat"}
    )
    gold, t1, t2, t3 = project.task_ids
    table = [
        {gold: "cat", t1: "cat", t2: "cat", t3: "dog"},
        {gold: "cat", t1: "cat", t2: "cat", t3: "bird"},
        {gold: "dog", t1: "cat", t2: "dog", t3: "dog"},
    ]
    for i, worker in enumerate(workers):
        _work_all(client, project, worker, table[i], duration_ms=1000 * (i + 1))
    return org, project, workers


def _close(actual: float | None, expected: float, tol: float = 2e-6) -> bool:
    return actual is not None and abs(actual - expected) < tol


def test_report_of_a_small_project_matches_hand_computed_numbers(
    client: TestClient, factory: Factory
) -> None:
    org, project, (a, b, c) = _small_project(client, factory)
    viewer = factory.key(org, "viewer")
    response = client.get(f"/api/projects/{project.id}/quality", headers=auth(viewer))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["project_id"] == project.id

    # Per task agreement: t1 1, t2 (2·1)/(3·2) = 1/3, t3 1/3 -> mean 5/9.
    # Answer shares cat 5/9, dog 3/9, bird 1/9: P_e = 35/81, kappa = (5/9 - 35/81)/(46/81) = 5/23.
    # Coincidences: cat-cat 4, dog-dog 1, cat-dog 1+1, dog-bird 1+1; marginals 5, 3, 1 (n = 9):
    # alpha = 1 - (n - 1)·4 / (2·(5·3 + 5·1 + 3·1)) = 1 - 32/46 = 7/23.
    for key in ("completed", "all_tasks"):
        stats = report["agreement"][key]
        assert (stats["tasks"], stats["annotations"]) == (3, 9)
        assert _close(stats["percent_agreement"], 5 / 9)
        assert _close(stats["fleiss_kappa"], 5 / 23)
        assert _close(stats["krippendorff_alpha"], 7 / 23)
    assert report["agreement"]["sampled"] is False
    assert report["agreement"]["sample_limit"] == 50_000

    tasks = report["tasks"]
    assert tasks["total"] == 4 and tasks["gold"] == 1
    assert tasks["by_status"] == {"completed": 3, "pending": 1}  # gold tasks stay pending
    assert tasks["mean_labels_per_completed"] == 3.0
    assert 0.0 < tasks["mean_confidence_completed"] <= 1.0

    rows = {row["worker_id"]: row for row in report["workers"]}
    assert report["workers_total"] == 3 and len(rows) == 3
    assert [row["worker_id"] for row in report["workers"]] == sorted(rows)  # 4 answers each
    # Completed answers: t1 cat, t2 cat, t3 dog (A and C outweigh B).
    expected = {
        a.user_id: (1, WILSON_1_OF_1, 3, WILSON_3_OF_3, 1000.0),
        b.user_id: (1, WILSON_1_OF_1, 2, WILSON_2_OF_3, 2000.0),
        c.user_id: (0, WILSON_0_OF_1, 2, WILSON_2_OF_3, 3000.0),
    }
    for worker_id, (gold_ok, gold_ci, agreed, agree_ci, duration) in expected.items():
        row = rows[worker_id]
        assert row["name"].startswith("worker-")
        assert (row["answers"], row["gold_answers"], row["gold_correct"]) == (4, 1, gold_ok)
        assert row["gold_accuracy"] == gold_ok / 1
        assert _close(row["gold_ci_low"], gold_ci[0]) and _close(row["gold_ci_high"], gold_ci[1])
        assert (row["compared"], row["agreed"]) == (3, agreed)
        assert _close(row["agreement_rate"], agreed / 3)
        assert _close(row["agreement_ci_low"], agree_ci[0])
        assert _close(row["agreement_ci_high"], agree_ci[1])
        assert _close(row["skill"], shrunk_skill(gold_ok + agreed, 4))
        assert row["removed_at"] is None
        assert row["mean_duration_ms"] == duration

    limited = client.get(f"/api/projects/{project.id}/quality?limit=1", headers=auth(org.key))
    assert limited.status_code == 200
    assert len(limited.json()["workers"]) == 1 and limited.json()["workers_total"] == 3
    for bad in ("0", "1001", "x"):
        refused = client.get(
            f"/api/projects/{project.id}/quality?limit={bad}", headers=auth(org.key)
        )
        assert refused.status_code == 422


def test_an_empty_project_reports_nulls_not_errors(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org)
    response = client.get(f"/api/projects/{project.id}/quality", headers=auth(org.key))
    assert response.status_code == 200, response.text
    report = response.json()
    for key in ("completed", "all_tasks"):
        assert report["agreement"][key] == {
            "tasks": 0,
            "annotations": 0,
            "percent_agreement": None,
            "fleiss_kappa": None,
            "krippendorff_alpha": None,
        }
    assert report["tasks"] == {
        "total": 0,
        "gold": 0,
        "by_status": {},
        "mean_labels_per_completed": None,
        "mean_confidence_completed": None,
    }
    assert (report["workers"], report["workers_total"]) == ([], 0)


def test_one_answer_per_task_gives_no_agreement_and_no_gold_interval(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    worker = factory.worker(org)
    project = factory.project(org, n_tasks=2)
    _work_all(client, project, worker, dict.fromkeys(project.task_ids, "cat"), duration_ms=5)
    report = client.get(f"/api/projects/{project.id}/quality", headers=auth(org.key)).json()
    assert report["agreement"]["completed"]["percent_agreement"] is None
    assert report["agreement"]["completed"]["tasks"] == 0
    (row,) = report["workers"]
    assert (row["answers"], row["gold_answers"], row["gold_accuracy"]) == (2, 0, None)
    assert (row["gold_ci_low"], row["gold_ci_high"]) == (None, None)


def test_a_single_answer_value_has_undefined_kappa_and_alpha() -> None:
    stats = agreement_stats([(1, 1, "cat"), (1, 2, "cat"), (2, 1, "cat"), (2, 2, "cat")])
    assert (stats.tasks, stats.annotations, stats.percent_agreement) == (2, 4, 1.0)
    assert stats.fleiss_kappa is None and stats.krippendorff_alpha is None


@pytest.mark.parametrize(
    "answer_keys", [[("a", "b"), ("a", "b")], [frozenset({1}), frozenset({1})]]
)
def test_structured_answer_keys_are_coded(answer_keys: list[Any]) -> None:
    stats = agreement_stats([(1, w, key) for w, key in enumerate(answer_keys)])
    assert stats.percent_agreement == 1.0


def test_a_foreign_project_is_not_found_and_a_worker_key_is_refused(
    client: TestClient, factory: Factory
) -> None:
    org, other = factory.org(), factory.org()
    worker = factory.worker(org)
    project = factory.project(org)
    foreign = client.get(f"/api/projects/{project.id}/quality", headers=auth(other.key))
    assert foreign.status_code == 404
    missing = client.get("/api/projects/999999/quality", headers=auth(org.key))
    assert missing.status_code == 404
    assert foreign.json()["error"]["code"] == missing.json()["error"]["code"]
    refused = client.get(f"/api/projects/{project.id}/quality", headers=auth(worker.key))
    assert refused.status_code == 403


def test_a_pairwise_project_ranks_its_models_by_bradley_terry(
    client: TestClient, factory: Factory
) -> None:
    """Every answer is a comparison of the task's two models (a tie half a win each way): X
    beats Y and Z, Y beats Z once and ties once; a task naming one model does not count."""
    org = factory.org()
    worker = factory.worker(org)
    project_id, batch_id = create_project(client, org, "pairwise_comparison", {})
    pairs = [("X", "Y"), ("Z", "X"), ("Y", "Z"), ("Y", "Z"), ("X", "Y"), ("Y", None)]
    tasks = [
        {"prompt": "p", "response_a": "a", "response_b": "b", "model_a": a}
        | ({"model_b": b} if b else {})
        for a, b in pairs
    ]
    task_ids = import_tasks(client, org, project_id, batch_id, tasks)
    choice = dict(zip(task_ids, ["a", "b", "a", "tie", "a", "a"], strict=True))
    for _ in task_ids:
        lease = post_next(client, project_id, worker.key)
        assert lease.status_code == 200, lease.text
        task_id = int(lease.json()["task_id"])
        answer = {"choice": choice[task_id]}
        done = submit_response(client, lease.json()["assignment_id"], worker.key, answer)
        assert done.status_code == 200, done.text
    report = client.get(f"/api/projects/{project_id}/quality", headers=auth(org.key))
    assert report.status_code == 200, report.text
    models = report.json()["models"]
    assert [(m["model"], m["comparisons"], m["wins"]) for m in models] == [
        ("X", 3, 3.0),
        ("Y", 4, 1.5),
        ("Z", 3, 0.5),
    ]
    scores = [m["score"] for m in models]
    assert scores[0] > scores[1] > scores[2] and abs(sum(scores)) < 1e-6
    for m in models:
        assert m["win_probability"] == pytest.approx(1 / (1 + math.exp(-m["score"])))
    # Another type has no standings.
    categorical = factory.project(org, n_tasks=1)
    other = client.get(f"/api/projects/{categorical.id}/quality", headers=auth(org.key))
    assert other.json()["models"] == []
