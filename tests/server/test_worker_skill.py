"""Worker skill in the work loop (DESIGN.md §6): gold answers and agreement with completed
answers are recorded, feed back as weights, and a worker below the project's gold accuracy
threshold is removed from it. On both databases (PostgreSQL through its hot path)."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from labelmill.quality import shrunk_skill
from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.services import queue, worker_skills
from labelmill.server.services.worker_skills import QualityRules, SkillUpdate
from tests.factory import Factory, ProjectHandle, WorkerHandle, auth


def _work(
    client: TestClient, project: ProjectHandle, worker: WorkerHandle, answer: Any
) -> tuple[int, int]:
    """Lease and answer one task; ``answer(task_id)`` gives the category. (task, status)"""
    lease = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker.key))
    assert lease.status_code == 200, lease.text
    task_id = lease.json()["task_id"]
    done = client.post(
        f"/api/work/assignments/{lease.json()['assignment_id']}/submit",
        json={"response": {"category": answer(task_id)}},
        headers=auth(worker.key),
    )
    return task_id, done.status_code


def _skills(db: Database, project_id: int) -> dict[int, Any]:
    with db.read_session() as session:
        rows = worker_skills.project_skills(session.connection(), project_id)
    return {row.worker_id: row for row in rows}


def test_agreement_with_completed_answers_is_recorded_as_skill(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    project = factory.project(org, n_tasks=2, min_labels=3, max_labels=3)
    answers = {workers[0].user_id: "cat", workers[1].user_id: "cat", workers[2].user_id: "dog"}
    for worker in workers:
        for _ in range(2):
            _work(client, project, worker, lambda _t, w=worker: answers[w.user_id])
    skills = _skills(db, project.id)
    for worker in workers:
        row = skills[worker.user_id]
        agreed = 2 if answers[worker.user_id] == "cat" else 0
        assert (row.compared, row.agreed, row.gold_answers) == (2, agreed, 0)
        assert abs(row.skill - shrunk_skill(agreed, 2)) < 1e-9
        assert row.removed_at is None


def _gold_project(factory: Factory, org: Any, **settings: Any) -> tuple[ProjectHandle, set[int]]:
    """Three gold tasks (answer: cat) served first (gold rate 1), then one regular task."""
    gold = {0: "cat", 1: "cat", 2: "cat"}
    project = factory.project(
        org, n_tasks=4, min_labels=2, max_labels=2, gold_rate=1.0, gold=gold, **settings
    )
    return project, {project.task_ids[i] for i in gold}


def test_skills_from_gold_weigh_the_answers(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    careless, careful, other = (factory.worker(org) for _ in range(3))
    project, gold_ids = _gold_project(factory, org)
    regular_id = project.task_ids[3]
    # The careless worker misses every gold answer and then answers the regular task first.
    seen = [_work(client, project, careless, lambda t: "dog")[0] for _ in range(4)]
    assert seen[-1] == regular_id and set(seen[:3]) == gold_ids
    # The careful worker gets every gold answer right, then disagrees on the regular task:
    # at max_labels the heavier answer wins although the careless one came first (with equal
    # weights the earliest answer would).
    for _ in range(4):
        _work(client, project, careful, lambda t: "cat")
    task = client.get(f"/api/tasks/{regular_id}", headers=auth(org.key)).json()
    assert (task["status"], task["response"]) == ("completed", {"category": "cat"})

    skills = _skills(db, project.id)
    careless_row, careful_row = skills[careless.user_id], skills[careful.user_id]
    assert (careless_row.gold_answers, careless_row.gold_correct) == (3, 0)
    assert (careless_row.compared, careless_row.agreed) == (1, 0)
    assert (careful_row.gold_correct, careful_row.compared, careful_row.agreed) == (3, 1, 1)
    assert abs(careless_row.skill - shrunk_skill(0, 4)) < 1e-9
    assert abs(careful_row.skill - shrunk_skill(4, 4)) < 1e-9
    assert careless_row.removed_at is None  # the project has no threshold
    assert other.user_id not in skills


def test_a_worker_below_the_gold_threshold_is_removed_from_the_project(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    careless, careful = factory.worker(org), factory.worker(org)
    project, gold_ids = _gold_project(factory, org, skill_threshold=0.5, min_gold_answers=3)
    for answered in range(1, 4):
        task_id, status = _work(client, project, careless, lambda t: "dog")
        assert task_id in gold_ids and status == 200
        record = _skills(db, project.id)[careless.user_id]
        # Not judged before min_gold_answers gold answers; 0 of 3 is below 0.5.
        assert (record.removed_at is not None) == (answered == 3)
    refused = client.post(f"/api/work/projects/{project.id}/next", headers=auth(careless.key))
    assert refused.status_code == 404
    # Another worker in the same project is unaffected.
    assert _work(client, project, careful, lambda t: "cat")[1] == 200


def test_removal_releases_the_workers_other_leases_in_the_project(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """Through SQLAlchemy on both databases, and on PostgreSQL also through the psycopg
    driver connection that the hot path's submissions use."""
    org = factory.org()
    paths = ["sqlalchemy", "driver"] if db.is_postgres else ["sqlalchemy"]
    for path in paths:
        worker = factory.worker(org)
        project = factory.project(org, n_tasks=2)
        with db.write_session() as session:
            lease = queue.next_task(
                session=session,
                project_id=project.id,
                worker_id=worker.user_id,
                now=utcnow(),
                rng=random.Random(0),
            )
        assert lease is not None
        update = SkillUpdate(
            project_id=project.id,
            worker_id=worker.user_id,
            assignment_id=-1,  # the submission being recorded is another one
            gold_correct=False,
            agreements=[],
        )
        rules = QualityRules(skill_threshold=0.9, min_gold_answers=1)
        if path == "driver":
            with db.driver_connection() as conn, conn.transaction():
                removed = worker_skills.run_driver(conn, update, rules, utcnow())
        else:
            with db.write_session() as session:
                removed = worker_skills.run(session.connection(), update, rules, utcnow())
        assert removed, path
        with db.read_session() as session:
            state = queue.assignment_state(session, lease.assignment_id)
            task = queue.lock_task_row(session, lease.task_id)
        assert (state[0], task.open_leases) == ("expired", 0), path
        assert _skills(db, project.id)[worker.user_id].removed_at is not None
        # Work on the released lease is no longer accepted from a removed worker.
        late = client.post(
            f"/api/work/assignments/{lease.assignment_id}/submit",
            json={"response": {"category": "cat"}},
            headers=auth(worker.key),
        )
        assert late.status_code == 403, (path, late.text)
