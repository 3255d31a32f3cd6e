"""match_overlap = k: the project's confidence target is derived from its crowd's skills so
that dynamic overlap matches fixed overlap k (labelmill.quality.fixed_overlap_target)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelmill.quality.stopping import fixed_overlap_target
from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import BackgroundWorker
from labelmill.server.services import overlap_target, worker_skills
from tests.factory import Factory, auth
from tests.server.loop import answer_next


def _project(client: TestClient, key: str, **settings: object) -> dict[str, object]:
    created = client.post(
        "/api/projects",
        json={
            "name": "matched",
            "task_type": "categorization",
            "params": {"categories": ["cat", "dog", "bird"]},
            **settings,
        },
        headers=auth(key),
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_new_project_starts_from_the_prior_crowd_and_follows_skills(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = _project(
        client, org.key, match_overlap=5, confidence_target=0.99, min_labels=3, max_labels=3
    )
    prior = fixed_overlap_target([], k=5, n_classes=3)
    # The derived target replaces the hand-set one, from the default skill (no answers yet).
    assert project["match_overlap"] == 5
    assert abs(float(project["confidence_target"]) - prior) < 1e-12  # type: ignore[arg-type]
    project_id = int(project["id"])  # type: ignore[call-overload]
    client.post(
        f"/api/projects/{project_id}/staffing", json={"pool_id": org.pool_id}, headers=auth(org.key)
    )
    batch = client.post(
        f"/api/projects/{project_id}/batches",
        json={"name": "b", "start": True},
        headers=auth(org.key),
    ).json()
    tasks = [{"params": {"attachment": f"item {i}"}} for i in range(4)]
    client.post(
        f"/api/projects/{project_id}/tasks",
        json={"batch_id": batch["id"], "tasks": tasks},
        headers=auth(org.key),
    )
    workers = [factory.worker(org) for _ in range(3)]
    for worker in workers:  # all agree: completed answers raise everyone's skill
        for _ in range(2):
            answer_next(client, project_id, worker, "cat")
    with db.read_session() as session:
        rows = worker_skills.project_skills(session.connection(), project_id)
    assert rows and all(row.skill > 0.7 for row in rows)
    expected = fixed_overlap_target(
        [row.skill for row in rows],
        k=5,
        n_classes=3,
        weights=[row.gold_answers + row.compared for row in rows],
    )
    assert expected > prior
    BackgroundWorker(db).tick()  # the worker's first tick refreshes the targets
    read = client.get(f"/api/projects/{project_id}", headers=auth(org.key)).json()
    assert abs(read["confidence_target"] - expected) < 1e-12


def test_switching_the_mode_off_keeps_a_hand_set_target(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = _project(client, org.key, match_overlap=3)
    project_id = project["id"]
    off = client.patch(
        f"/api/projects/{project_id}",
        json={"match_overlap": 0, "confidence_target": 0.9},
        headers=auth(org.key),
    )
    assert off.status_code == 200, off.text
    assert (off.json()["match_overlap"], off.json()["confidence_target"]) == (0, 0.9)
    assert overlap_target.refresh_all(db) == 0  # nothing to derive any more
    # Matching a larger overlap asks for a higher target from the same crowd.
    three = fixed_overlap_target([], k=3, n_classes=3)
    seven = client.patch(
        f"/api/projects/{project_id}", json={"match_overlap": 7}, headers=auth(org.key)
    ).json()
    assert seven["confidence_target"] > three


def test_out_of_range_k_is_refused_naming_the_field(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    refused = client.post(
        "/api/projects",
        json={
            "name": "p",
            "task_type": "categorization",
            "params": {"categories": ["a", "b"]},
            "match_overlap": 50,
        },
        headers=auth(org.key),
    )
    assert refused.status_code == 422
    assert any(d["loc"][-1] == "match_overlap" for d in refused.json()["error"]["details"])
