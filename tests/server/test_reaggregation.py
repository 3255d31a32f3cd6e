"""Project-wide re-aggregation as a background job (DESIGN.md §6): a model over every answer
of the project, calibrated on gold, may revise what the online rule decided; each revision
keeps the old value. On both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import run_due_jobs
from tests.factory import Factory, auth
from tests.server.loop import answer_next, read_task


def test_gold_calibrated_reaggregation_revises_an_answer_and_records_the_old_one(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    biased = [factory.worker(org), factory.worker(org)]
    careful = factory.worker(org)
    gold = dict.fromkeys(range(2, 6), "cat")
    overrides: list[dict[str, Any]] = [{"priority": 10}] + [{} for _ in range(5)]
    project = factory.project(
        org, n_tasks=6, min_labels=3, max_labels=3, gold=gold, task_overrides=overrides
    )
    disputed = project.task_ids[0]
    # Online, with nothing known about the workers, two "dog" beat one "cat".
    for worker, category in ((biased[0], "dog"), (biased[1], "dog"), (careful, "cat")):
        assert answer_next(client, project.id, worker, category) == disputed
    assert read_task(client, org, disputed)["response"] == {"category": "dog"}

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
    # Running it again finds nothing more to change.
    client.post(f"{url}/aggregate", json={}, headers=auth(org.key))
    run_due_jobs(db)
    assert len(client.get(f"{url}/revisions", headers=auth(org.key)).json()["data"]) == 1


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
