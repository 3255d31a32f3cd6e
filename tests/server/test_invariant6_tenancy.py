"""Invariant 6: organization A can neither read nor change nor learn the existence of
anything of organization B, through any route of docs/api.md: a foreign id answers exactly
like an id that does not exist (404), never 403; B's data is unchanged afterwards.
Also: a viewer gets 403 on every write of its own organization and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factory import Factory, OrgHandle, auth

MISSING = 987_654


@dataclass
class World:
    a: OrgHandle
    b: OrgHandle
    ids: dict[str, int]  # placeholders -> B's ids (and A's own where a probe mixes them)
    a_worker_key: str
    b_worker_key: str


def _build(client: TestClient, factory: Factory) -> World:
    a = factory.org(name="alpha")
    b = factory.org(name="bravo-secret")
    project_a = factory.project(a, n_tasks=2, min_labels=2)
    project_b = factory.project(b, n_tasks=3, min_labels=2)
    a_worker = factory.worker(a)
    b_worker = factory.worker(b)
    staging_b = client.post(
        f"/api/projects/{project_b.id}/batches", json={"name": "later"}, headers=auth(b.key)
    )
    assert staging_b.status_code == 201
    lease = client.post(f"/api/work/projects/{project_b.id}/next", headers=auth(b_worker.key))
    assert lease.status_code == 200
    done = client.post(f"/api/work/projects/{project_b.id}/next", headers=auth(b_worker.key))
    submitted = client.post(
        f"/api/work/assignments/{done.json()['assignment_id']}/submit",
        json={"response": {"category": "cat"}},
        headers=auth(b_worker.key),
    )
    assert submitted.status_code == 200
    # A fresh lease of B's worker that stays live.
    live = client.post(f"/api/work/projects/{project_b.id}/next", headers=auth(b_worker.key))
    assert live.status_code == 200
    dataset = client.post(
        f"/api/projects/{project_b.id}/datasets", json={"format": "jsonl"}, headers=auth(b.key)
    )
    assert dataset.status_code == 201, dataset.text
    return World(
        a=a,
        b=b,
        ids={
            "project": project_b.id,
            "batch": project_b.batch_id,
            "staging": staging_b.json()["id"],
            "task": project_b.task_ids[0],
            "pool": b.pool_id,
            "user": b_worker.user_id,
            "assignment": live.json()["assignment_id"],
            "dataset": dataset.json()["id"],
            "own_project": project_a.id,
            "own_pool": a.pool_id,
            "own_user": a_worker.user_id,
        },
        a_worker_key=a_worker.key,
        b_worker_key=b_worker.key,
    )


TASKS = {"tasks": [{"params": {"attachment": "x"}}]}
# (method, path, body): placeholders name B's objects; "own_*" are A's own.
ORG_PROBES: list[tuple[str, str, Any]] = [
    ("GET", "/api/projects/{project}", None),
    ("PATCH", "/api/projects/{project}", {"name": "renamed"}),
    ("GET", "/api/projects/{project}/versions", None),
    ("POST", "/api/projects/{project}/staffing", {"pool_id": "{own_pool}"}),
    ("POST", "/api/projects/{own_project}/staffing", {"pool_id": "{pool}"}),
    ("DELETE", "/api/projects/{project}/staffing/{pool}", None),
    ("DELETE", "/api/projects/{own_project}/staffing/{pool}", None),
    ("POST", "/api/projects/{project}/batches", {"name": "mine"}),
    ("GET", "/api/projects/{project}/batches", None),
    ("GET", "/api/batches/{batch}", None),
    ("POST", "/api/batches/{staging}/start", None),
    ("GET", "/api/batches/{batch}/counts", None),
    ("POST", "/api/projects/{project}/tasks", TASKS),
    ("POST", "/api/projects/{own_project}/tasks", {**TASKS, "batch_id": "{batch}"}),
    ("GET", "/api/projects/{project}/tasks", None),
    ("GET", "/api/tasks/{task}", None),
    ("PATCH", "/api/tasks/{task}", {"priority": 7}),
    ("POST", "/api/tasks/{task}/cancel", None),
    ("GET", "/api/tasks/{task}/annotations", None),
    ("GET", "/api/projects/{project}/export", None),
    ("GET", "/api/projects/{project}/datasets", None),
    ("POST", "/api/projects/{project}/datasets", {"format": "jsonl"}),
    ("GET", "/api/datasets/{dataset}", None),
    ("GET", "/api/datasets/{dataset}/download", None),
    ("POST", "/api/pools/{pool}/members", {"user_id": "{own_user}"}),
    ("POST", "/api/pools/{own_pool}/members", {"user_id": "{user}"}),
    ("DELETE", "/api/pools/{pool}/members/{user}", None),
    ("DELETE", "/api/pools/{own_pool}/members/{user}", None),
    ("POST", "/api/workers", {"name": "w", "pool_id": "{pool}"}),
]
WORK_PROBES: list[tuple[str, str, Any]] = [
    ("POST", "/api/work/projects/{project}/next", None),
    ("POST", "/api/work/assignments/{assignment}/heartbeat", None),
    ("POST", "/api/work/assignments/{assignment}/skip", None),
    ("POST", "/api/work/assignments/{assignment}/submit", {"response": {"category": "cat"}}),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _call(client: TestClient, key: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    response = client.request(method, path, json=body, headers=auth(key))
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    return response.status_code, payload


def _snapshot(client: TestClient, world: World) -> dict[str, Any]:
    """Everything B can see of its own data."""
    key = world.b.key
    project = world.ids["project"]
    paths = [
        f"/api/projects/{project}",
        f"/api/projects/{project}/versions",
        f"/api/projects/{project}/batches",
        f"/api/projects/{project}/tasks",
        f"/api/tasks/{world.ids['task']}/annotations",
        f"/api/batches/{world.ids['batch']}/counts",
        "/api/pools",
        "/api/audit?limit=1000",
        "/api/jobs",
        f"/api/projects/{project}/export?status=all",
    ]
    snap: dict[str, Any] = {}
    for path in paths:
        response = client.get(path, headers=auth(key))
        assert response.status_code == 200, (path, response.text)
        snap[path] = response.text
    return snap


def _assert_like_missing(
    client: TestClient, key: str, probe: tuple[str, str, Any], world: World, *, may_manage: bool
) -> None:
    """A foreign id gets exactly the answer a missing id gets; that answer is 404, except
    that a viewer acting on its *own* object is refused (403) before the foreign id matters."""
    method, path, body = probe
    foreign_ids = dict(world.ids)
    missing_ids = {
        name: (value if name.startswith("own_") else MISSING) for name, value in world.ids.items()
    }
    status, foreign = _call(client, key, method, _fill(path, foreign_ids), _fill(body, foreign_ids))
    missing_status, missing = _call(
        client, key, method, _fill(path, missing_ids), _fill(body, missing_ids)
    )
    # The object the route loads first: the path's first id (none: the caller's org).
    first_object_is_own = "{" not in path or path.split("{")[1].startswith("own_")
    expected = {403, 404} if first_object_is_own and not may_manage else {404}
    assert status in expected, (method, path, status, foreign)
    assert missing_status == status, (method, path, missing_status, missing)
    # The same answer as for an id that does not exist, up to the id itself.
    assert foreign["error"]["code"] == missing["error"]["code"]
    masked = foreign["error"]["message"]
    for name, value in world.ids.items():
        if not name.startswith("own_"):
            masked = masked.replace(str(value), str(MISSING))
    assert masked == missing["error"]["message"], (foreign, missing)
    assert "bravo" not in str(foreign)


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_foreign_ids_are_not_found_on_every_route(
    client: TestClient, factory: Factory, role: str
) -> None:
    world = _build(client, factory)
    key = world.a.key if role == "owner" else factory.key(world.a, "viewer")
    before = _snapshot(client, world)
    for probe in ORG_PROBES:
        _assert_like_missing(client, key, probe, world, may_manage=role == "owner")
    for probe in WORK_PROBES:
        _assert_like_missing(client, world.a_worker_key, probe, world, may_manage=True)
    assert _snapshot(client, world) == before, "org A changed something of org B"


def test_lists_of_one_org_show_nothing_of_another(client: TestClient, factory: Factory) -> None:
    world = _build(client, factory)
    key = world.a.key
    for path in ("/api/projects", "/api/pools", "/api/jobs", "/api/audit?limit=1000"):
        response = client.get(path, headers=auth(key))
        assert response.status_code == 200
        assert "bravo" not in response.text
    project_ids = {p["id"] for p in client.get("/api/projects", headers=auth(key)).json()["data"]}
    assert world.ids["project"] not in project_ids
    pool_ids = {p["id"] for p in client.get("/api/pools", headers=auth(key)).json()["data"]}
    assert world.ids["pool"] not in pool_ids
    audit = client.get("/api/audit?limit=1000", headers=auth(key)).json()["data"]
    assert all(
        e["object_id"] != world.ids["project"] or e["object_type"] != "project" for e in audit
    )
    # A's worker sees only A's projects; B's worker cannot lease A's project.
    mine = client.get("/api/work/projects", headers=auth(world.a_worker_key)).json()["data"]
    assert [p["id"] for p in mine] == [world.ids["own_project"]]
    lease = client.post(
        f"/api/work/projects/{world.ids['own_project']}/next", headers=auth(world.b_worker_key)
    )
    assert lease.status_code == 404


def test_same_unique_id_in_two_orgs_is_two_tasks(client: TestClient, factory: Factory) -> None:
    """unique_id is per organization: B's import never reports A's task as existing."""
    a, b = factory.org(), factory.org()
    project_a, project_b = factory.project(a), factory.project(b)
    body = {"tasks": [{"params": {"attachment": "x"}, "unique_id": "shared"}]}
    first = client.post(f"/api/projects/{project_a.id}/tasks", json=body, headers=auth(a.key))
    second = client.post(f"/api/projects/{project_b.id}/tasks", json=body, headers=auth(b.key))
    assert first.status_code == second.status_code == 201
    assert first.json()["created"] == second.json()["created"] == 1
    assert second.json()["existing"] == []
    assert first.json()["task_ids"] != second.json()["task_ids"]


def test_viewer_is_forbidden_every_write_of_its_own_org(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1)
    worker = factory.worker(org)
    viewer = factory.key(org, "viewer")
    staging = client.post(
        f"/api/projects/{project.id}/batches", json={"name": "s"}, headers=auth(org.key)
    ).json()["id"]
    task = project.task_ids[0]
    writes: list[tuple[str, str, Any]] = [
        ("POST", "/api/projects", {"name": "p", "task_type": "categorization", "params": {}}),
        ("PATCH", f"/api/projects/{project.id}", {"name": "renamed"}),
        ("POST", f"/api/projects/{project.id}/staffing", {"pool_id": org.pool_id}),
        ("DELETE", f"/api/projects/{project.id}/staffing/{org.pool_id}", None),
        ("POST", f"/api/projects/{project.id}/batches", {"name": "v"}),
        ("POST", f"/api/batches/{staging}/start", None),
        ("POST", f"/api/projects/{project.id}/tasks", TASKS),
        ("PATCH", f"/api/tasks/{task}", {"priority": 3}),
        ("POST", f"/api/tasks/{task}/cancel", None),
        ("POST", "/api/pools", {"name": "mine"}),
        ("POST", f"/api/pools/{org.pool_id}/members", {"user_id": worker.user_id}),
        ("DELETE", f"/api/pools/{org.pool_id}/members/{worker.user_id}", None),
        ("POST", "/api/workers", {"name": "w"}),
        ("GET", "/api/audit", None),
    ]
    audit_before = client.get("/api/audit?limit=1000", headers=auth(org.key)).json()["data"]
    for method, path, body in writes:
        status, payload = _call(client, viewer, method, path, body)
        assert status == 403, (method, path, status, payload)
        assert payload["error"]["code"] == "forbidden"
    audit_after = client.get("/api/audit?limit=1000", headers=auth(org.key)).json()["data"]
    assert audit_after == audit_before
    # Reads are allowed.
    for path in (f"/api/projects/{project.id}", f"/api/tasks/{task}", "/api/projects"):
        assert client.get(path, headers=auth(viewer)).status_code == 200
    assert client.get(f"/api/tasks/{task}", headers=auth(org.key)).json()["status"] == "pending"


def test_without_a_valid_key_everything_but_health_is_401(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    for headers in ({}, auth("lm_live_nope"), {"Authorization": "Basic !!!"}):
        response = client.get("/api/projects", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
