"""Project-wide re-aggregation as a background job (DESIGN.md §6): a model over every answer
of the project, calibrated on gold, may revise what the online rule decided; each revision
keeps the old value. On both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import run_due_jobs
from labelmill.server.models import Job, WorkerSkill
from labelmill.server.services import worker_skills
from tests.factory import Factory, WorkerHandle, auth
from tests.server.loop import (
    answer_next,
    create_project,
    import_tasks,
    post_next,
    read_task,
    submit_response,
)

# Nothing listens there: the callback jobs are only counted.
CALLBACK = "http://127.0.0.1:9/callback"


def test_gold_calibrated_reaggregation_revises_an_answer_and_records_the_old_one(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    biased = [factory.worker(org), factory.worker(org)]
    careful = factory.worker(org)
    gold = dict.fromkeys(range(2, 6), "cat")
    overrides: list[dict[str, Any]] = [{"priority": 10, "callback_url": CALLBACK}] + [
        {} for _ in range(5)
    ]
    project = factory.project(
        org, n_tasks=6, min_labels=3, max_labels=3, gold=gold, task_overrides=overrides
    )
    disputed = project.task_ids[0]
    # Online, with nothing known about the workers, two "dog" beat one "cat".
    for worker, category in ((biased[0], "dog"), (biased[1], "dog"), (careful, "cat")):
        assert answer_next(client, project.id, worker, category) == disputed
    assert read_task(client, org, disputed)["response"] == {"category": "dog"}
    ids = [biased[0].user_id, biased[1].user_id, careful.user_id]
    assert [_comparisons(db, project.id)[w] for w in ids] == [(1, 1), (1, 1), (1, 0)]

    # Gold then shows the two say "dog" for cats, and the careful worker is right.
    url = f"/api/projects/{project.id}"
    assert client.patch(url, json={"gold_rate": 1.0}, headers=auth(org.key)).status_code == 200
    for worker, category in ((biased[0], "dog"), (biased[1], "dog"), (careful, "cat")):
        answered = {answer_next(client, project.id, worker, category) for _ in range(4)}
        assert answered == {project.task_ids[i] for i in gold}

    # Majority vote over everything changes nothing; the gold-calibrated default does.
    for method, revised in (("majority_vote", 0), ("auto", 1)):
        job = client.post(f"{url}/aggregate", json={"method": method}, headers=auth(org.key))
        assert job.status_code == 202, job.text
        assert job.json()["kind"] == "project.reaggregate"
        assert run_due_jobs(db) >= 1
        revisions = client.get(f"{url}/revisions", headers=auth(org.key)).json()["data"]
        assert len(revisions) == revised, revisions
    (revision,) = revisions
    assert revision["task_id"] == disputed and revision["method"] == "auto"
    assert revision["old_response"] == {"category": "dog"}
    assert revision["new_response"] == {"category": "cat"}
    task = read_task(client, org, disputed)
    assert task["response"] == {"category": "cat"}
    assert task["confidence"] == revision["new_confidence"] > 0.5
    # The revision moved the workers' agreement to the new answer and called the customer
    # back with it (the first callback was the completion's).
    assert [_comparisons(db, project.id)[w] for w in ids] == [(1, 0), (1, 0), (1, 1)]
    assert _callback_events(db, disputed) == ["completed", "completed"]
    # Running it again finds nothing more to change.
    client.post(f"{url}/aggregate", json={}, headers=auth(org.key))
    run_due_jobs(db)
    assert len(client.get(f"{url}/revisions", headers=auth(org.key)).json()["data"]) == 1


def test_reaggregation_leaves_reviewed_answers_and_tasks_in_review_alone(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    reviewer = factory.reviewer(org)
    project = factory.project(org, n_tasks=2, min_labels=3, max_labels=3, review_rate=1.0)
    url = f"/api/projects/{project.id}"
    corrected = answer_next(client, project.id, workers[0], "dog")
    for worker, category in ((workers[1], "dog"), (workers[2], "cat")):
        assert answer_next(client, project.id, worker, category) == corrected
    # The second task waits in the reviewer's hands while the job runs.
    in_review = answer_next(client, project.id, workers[0], "dog")
    for worker, category in ((workers[1], "dog"), (workers[2], "cat")):
        assert answer_next(client, project.id, worker, category) == in_review
    lease = client.post(f"/api/review/projects/{project.id}/next", headers=auth(reviewer.key))
    assert lease.json()["task_id"] == corrected
    decided = client.post(
        f"/api/review/{lease.json()['review_id']}/decide",
        json={"decision": "correct", "response": {"category": "cat"}},
        headers=auth(reviewer.key),
    )
    assert decided.status_code == 200, decided.text
    second = client.post(f"/api/review/projects/{project.id}/next", headers=auth(reviewer.key))
    assert second.json()["task_id"] == in_review

    for method in ("majority_vote", "dawid_skene", "auto"):
        job = client.post(f"{url}/aggregate", json={"method": method}, headers=auth(org.key))
        assert job.status_code == 202, job.text
        assert run_due_jobs(db) >= 1
        # Majority vote says "dog" on both; the reviewer's "cat" stands, and the task under
        # review keeps the answer the reviewer is looking at.
        assert read_task(client, org, corrected)["response"] == {"category": "cat"}
        assert read_task(client, org, in_review)["response"] == {"category": "dog"}
    revisions = client.get(f"{url}/revisions", headers=auth(org.key)).json()["data"]
    assert [(r["task_id"], r["method"]) for r in revisions] == [(corrected, "review")]


def test_reviewed_answers_calibrate_the_default_method_like_gold(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """Four tasks answered dog, dog, cat that a reviewer corrected to cat teach the default
    method what the two dog-workers mean; the fifth, still waiting for review, is revised."""
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    reviewer = factory.reviewer(org)
    project = factory.project(org, n_tasks=5, min_labels=3, max_labels=3, review_rate=1.0)
    url = f"/api/projects/{project.id}"
    for worker, category in ((workers[0], "dog"), (workers[1], "dog"), (workers[2], "cat")):
        answered = {answer_next(client, project.id, worker, category) for _ in range(5)}
        assert answered == set(project.task_ids)
    corrected = []
    for _ in range(4):
        lease = client.post(f"/api/review/projects/{project.id}/next", headers=auth(reviewer.key))
        decided = client.post(
            f"/api/review/{lease.json()['review_id']}/decide",
            json={"decision": "correct", "response": {"category": "cat"}},
            headers=auth(reviewer.key),
        )
        assert decided.status_code == 200, decided.text
        corrected.append(lease.json()["task_id"])
    (waiting,) = set(project.task_ids) - set(corrected)
    for method, revised in (("majority_vote", False), ("auto", True)):
        job = client.post(f"{url}/aggregate", json={"method": method}, headers=auth(org.key))
        assert job.status_code == 202, job.text
        assert run_due_jobs(db) >= 1
        answer = read_task(client, org, waiting)["response"]
        assert answer == {"category": "cat" if revised else "dog"}, method


def test_ratings_reaggregation_corrects_worker_bias_and_later_tasks_use_it(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """A lenient rater (3 points above the truth) on three of twelve tasks pulls their means
    up; the bias-corrected re-aggregation revises those (only those: the other nine move by
    less than half a step), stores each worker's bias, and the next task settles with the
    lenient rater's bias subtracted."""
    org = factory.org()
    fair_a, fair_b, fair_c, lenient = (factory.worker(org) for _ in range(4))
    params = {"criteria": [{"name": "helpfulness", "min": 1, "max": 5}]}
    project_id, batch_id = create_project(client, org, "rating", params, min_labels=3, max_labels=3)
    ids = import_tasks(client, org, project_id, batch_id, [{"text": f"t{i}"} for i in range(12)])
    truth = {task_id: 1 + i % 2 for i, task_id in enumerate(ids)}

    def rate(worker: WorkerHandle, shift: Any) -> int:
        lease = post_next(client, project_id, worker.key)
        assert lease.status_code == 200, lease.text
        task_id = int(lease.json()["task_id"])
        value = min(5, truth[task_id] + shift(task_id))
        done = submit_response(
            client, lease.json()["assignment_id"], worker.key, {"ratings": {"helpfulness": value}}
        )
        assert done.status_code == 200, done.text
        return task_id

    by_lenient = {rate(lenient, lambda t: 3) for _ in range(3)}
    for _ in range(12):
        rate(fair_a, lambda t: 0)
    for i in range(12):
        rate(fair_b, lambda t, i=i: int(i % 4 == 1))
    for _ in range(9):
        rate(fair_c, lambda t: 0)
    assert all(read_task(client, org, t)["status"] == "completed" for t in ids)
    before = {t: read_task(client, org, t)["response"]["ratings"]["helpfulness"] for t in ids}

    url = f"/api/projects/{project_id}"
    refused = client.post(f"{url}/aggregate", json={"method": "dawid_skene"}, headers=auth(org.key))
    assert refused.status_code == 422 and "auto" in refused.text
    job = client.post(f"{url}/aggregate", json={"method": "auto"}, headers=auth(org.key))
    assert job.status_code == 202, job.text
    assert run_due_jobs(db) >= 1
    revisions = client.get(f"{url}/revisions", headers=auth(org.key)).json()["data"]
    # Only tasks the lenient rater answered move by half a step or more (by the time the third
    # settled, their lower skill already weighed them less online: it may move by less).
    revised = {r["task_id"] for r in revisions}
    assert revised <= by_lenient and len(revised) >= 2
    for revision in revisions:
        task_id = revision["task_id"]
        new = revision["new_response"]["ratings"]["helpfulness"]
        assert revision["old_response"]["ratings"]["helpfulness"] == before[task_id]
        assert abs(new - truth[task_id]) < abs(before[task_id] - truth[task_id]) - 0.4
    with db.read_session() as session:
        query = select(WorkerSkill.worker_id, WorkerSkill.rating_bias).where(
            WorkerSkill.project_id == project_id
        )
        stored: dict[int, Any] = dict(session.execute(query).all())
    assert stored[lenient.user_id]["helpfulness"] > 2
    assert all(stored[w.user_id]["helpfulness"] < 0 for w in (fair_a, fair_b, fair_c))

    # A new task: the lenient rater's 5 counts as about 2.4, next to two fair 2s.
    batch = client.post(
        f"{url}/batches", json={"name": "more", "start": True}, headers=auth(org.key)
    )
    assert batch.status_code == 201, batch.text
    (new_task,) = import_tasks(client, org, project_id, batch.json()["id"], [{"text": "new"}])
    truth[new_task] = 2
    for worker, shift in ((lenient, 3), (fair_a, 0), (fair_b, 0)):
        assert rate(worker, lambda t, shift=shift: shift) == new_task
    settled = read_task(client, org, new_task)["response"]["ratings"]["helpfulness"]
    assert 2 < settled < 2.5


def _comparisons(db: Database, project_id: int) -> dict[int, tuple[int, int]]:
    with db.read_session() as session:
        rows = worker_skills.project_skills(session.connection(), project_id)
    return {row.worker_id: (row.compared, row.agreed) for row in rows}


def _callback_events(db: Database, task_id: int) -> list[str]:
    with db.read_session() as session:
        payloads = session.scalars(
            select(Job.payload).where(Job.kind == "task.callback").order_by(Job.id)
        ).all()
    return [p["event"] for p in payloads if p["task_id"] == task_id]


def test_reaggregation_requests_are_checked(client: TestClient, factory: Factory) -> None:
    org, other = factory.org(), factory.org()
    project = factory.project(org)
    url = f"/api/projects/{project.id}/aggregate"
    bad = client.post(url, json={"method": "magic"}, headers=auth(org.key))
    assert bad.status_code == 422 and "method" in bad.text
    assert client.post(url, json={}, headers=auth(other.key)).status_code == 404
    viewer = factory.key(org, "viewer")
    assert client.post(url, json={}, headers=auth(viewer)).status_code == 403
    revisions = client.get(f"/api/projects/{project.id}/revisions", headers=auth(viewer))
    assert revisions.status_code == 200 and revisions.json()["data"] == []
