"""The review stage (issue 3): completed tasks sent to review wait for a reviewer, who
accepts, corrects (the correction becomes the answer and counts against the workers who were
wrong) or rejects (the task goes back for one more label); a batch completes only once its
reviews are done. On both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelmill.server.db.engine import Database
from labelmill.server.models import Task
from labelmill.server.services import worker_skills
from tests.factory import Factory, OrgHandle, ProjectHandle, WorkerHandle, auth
from tests.server.loop import answer_next, read_task


def _next_review(client: TestClient, project: ProjectHandle, reviewer: WorkerHandle) -> Any:
    return client.post(f"/api/review/projects/{project.id}/next", headers=auth(reviewer.key))


def _decide(client: TestClient, review_id: int, who: WorkerHandle, **body: Any) -> Any:
    return client.post(f"/api/review/{review_id}/decide", json=body, headers=auth(who.key))


def _batch_status(client: TestClient, org: OrgHandle, project: ProjectHandle) -> str:
    return str(
        client.get(f"/api/batches/{project.batch_id}", headers=auth(org.key)).json()["status"]
    )


def test_a_correction_becomes_the_answer_and_counts_against_the_wrong_workers(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    first, second = factory.worker(org), factory.worker(org)
    reviewer = factory.reviewer(org)
    project = factory.project(org, n_tasks=1, min_labels=2, max_labels=2, review_rate=1.0)
    task_id = answer_next(client, project.id, first, "dog")
    answer_next(client, project.id, second, "cat")
    task = read_task(client, org, task_id)
    assert (task["status"], task["response"]) == ("completed", {"category": "dog"})
    assert _batch_status(client, org, project) == "in_progress"  # waits for its review

    # Annotators are not reviewers; the reviewer sees the task and every answer.
    assert _next_review(client, project, first).status_code == 404
    lease = _next_review(client, project, reviewer)
    assert lease.status_code == 200, lease.text
    body = lease.json()
    assert body["task_id"] == task_id and body["answer"] == {"category": "dog"}
    assert body["answers"] == [{"category": "dog"}, {"category": "cat"}]
    assert _next_review(client, project, reviewer).json()["review_id"] == body["review_id"]

    bad = _decide(client, body["review_id"], reviewer, decision="correct")
    assert bad.status_code == 422 and "response" in bad.text
    unknown = _decide(
        client, body["review_id"], reviewer, decision="correct", response={"category": "emu"}
    )
    assert unknown.status_code == 422
    assert _decide(client, body["review_id"], first, decision="accept").status_code == 404
    fixed = _decide(
        client, body["review_id"], reviewer, decision="correct", response={"category": "cat"}
    )
    assert fixed.status_code == 200, fixed.text
    assert _decide(client, body["review_id"], reviewer, decision="accept").status_code == 409

    task = read_task(client, org, task_id)
    assert (task["response"], task["confidence"]) == ({"category": "cat"}, 1.0)
    assert _batch_status(client, org, project) == "completed"
    revisions = client.get(f"/api/projects/{project.id}/revisions", headers=auth(org.key))
    (revision,) = revisions.json()["data"]
    assert (revision["method"], revision["old_response"]) == ("review", {"category": "dog"})
    with db.read_session() as session:
        skills = {
            row.worker_id: row
            for row in worker_skills.project_skills(session.connection(), project.id)
        }
    # At completion both were compared with "dog"; the correction compares them with "cat"
    # instead: one comparison each, the dog-worker now wrong, the cat-worker right.
    assert (skills[first.user_id].compared, skills[first.user_id].agreed) == (1, 0)
    assert (skills[second.user_id].compared, skills[second.user_id].agreed) == (1, 1)
    assert skills[first.user_id].skill < skills[second.user_id].skill
    assert _next_review(client, project, reviewer).status_code == 204


def _comparisons(db: Database, project: ProjectHandle) -> dict[int, tuple[int, int]]:
    with db.read_session() as session:
        rows = worker_skills.project_skills(session.connection(), project.id)
    return {row.worker_id: (row.compared, row.agreed) for row in rows}


def test_a_rejected_answer_sends_the_task_back_for_another_label(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    reviewer = factory.reviewer(org)
    project = factory.project(org, n_tasks=1, min_labels=2, max_labels=3, review_below=0.99)
    task_id = answer_next(client, project.id, workers[0], "dog")
    answer_next(client, project.id, workers[1], "cat")
    answer_next(client, project.id, workers[2], "cat")  # at max_labels, under 0.99: to review
    assert read_task(client, org, task_id)["status"] == "completed"
    ids = [w.user_id for w in workers]
    assert _comparisons(db, project) == {ids[0]: (1, 0), ids[1]: (1, 1), ids[2]: (1, 1)}
    review_id = _next_review(client, project, reviewer).json()["review_id"]
    rejected = _decide(client, review_id, reviewer, decision="reject")
    assert rejected.status_code == 200 and rejected.json()["task_status"] == "pending"
    # The answer is unknown again: the comparisons with it are withdrawn.
    assert _comparisons(db, project) == {ids[0]: (0, 0), ids[1]: (0, 0), ids[2]: (0, 0)}
    task = read_task(client, org, task_id)
    assert (task["status"], task["response"], task["label_target"]) == ("pending", None, 4)
    # Only a worker who has not answered it can take the new slot; the reviewer can.
    assert (
        client.post(
            f"/api/work/projects/{project.id}/next", headers=auth(workers[0].key)
        ).status_code
        == 204
    )
    assert answer_next(client, project.id, reviewer, "bird") == task_id
    task = read_task(client, org, task_id)
    assert (task["status"], task["response"]) == ("completed", {"category": "cat"})
    # Completed again: every answer is compared once, with the new answer.
    assert _comparisons(db, project) == {
        ids[0]: (1, 0),
        ids[1]: (1, 1),
        ids[2]: (1, 1),
        reviewer.user_id: (1, 0),
    }
    # The reviewer answered it, so they may not review it again.
    assert _next_review(client, project, reviewer).status_code == 204


def test_accepting_completes_the_batch_and_unsampled_tasks_skip_review(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    worker, reviewer = factory.worker(org), factory.reviewer(org)
    sampled = factory.project(org, n_tasks=1, review_rate=1.0)
    unsampled = factory.project(org, n_tasks=1)
    answer_next(client, unsampled.id, worker, "cat")
    assert _batch_status(client, org, unsampled) == "completed"
    assert _next_review(client, unsampled, reviewer).status_code == 204
    answer_next(client, sampled.id, worker, "cat")
    assert _batch_status(client, org, sampled) == "in_progress"
    review_id = _next_review(client, sampled, reviewer).json()["review_id"]
    accepted = _decide(client, review_id, reviewer, decision="accept")
    assert accepted.status_code == 200 and accepted.json()["response"] == {"category": "cat"}
    assert _batch_status(client, org, sampled) == "completed"


def test_a_share_of_completed_tasks_is_sampled_for_review(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """review_rate 0.5 over 30 tasks: some are sampled and some are not (each way fails with
    probability 2^-30), and exactly the sampled ones reach the reviewer."""
    org = factory.org()
    worker, reviewer = factory.worker(org), factory.reviewer(org)
    project = factory.project(org, n_tasks=30, review_rate=0.5)
    for _ in range(30):
        answer_next(client, project.id, worker, "cat")
    with db.read_session() as session:
        statuses = dict(
            session.execute(
                select(Task.id, Task.review_status).where(Task.project_id == project.id)
            ).all()
        )
    sampled = {task_id for task_id, status in statuses.items() if status == "pending"}
    assert set(statuses.values()) == {"pending", None}
    assert 0 < len(sampled) < 30
    reviewed = set()
    while (lease := _next_review(client, project, reviewer)).status_code == 200:
        reviewed.add(lease.json()["task_id"])
        decided = _decide(client, lease.json()["review_id"], reviewer, decision="accept")
        assert decided.status_code == 200
    assert lease.status_code == 204 and reviewed == sampled
    assert _batch_status(client, org, project) == "completed"
