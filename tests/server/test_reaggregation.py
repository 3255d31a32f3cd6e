"""Project-wide re-aggregation as a background job (DESIGN.md §6): a model over every answer
of the project, calibrated on gold, may revise what the online rule decided; each revision
keeps the old value. On both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import run_due_jobs
from labelmill.server.models import Job
from labelmill.server.services import worker_skills
from tests.factory import Factory, auth
from tests.server.loop import answer_next, read_task

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
