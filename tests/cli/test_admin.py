"""Admin commands straight on the database: org, user, key, pool, staff (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cli.conftest import Invoke
from tests.factory import Factory, auth


def _key_from(output: str) -> str:
    (key,) = [line for line in output.splitlines() if line.startswith("lm_")]
    return key


def test_org_create_and_list(invoke: Invoke) -> None:
    assert invoke("org", "create", "acme").exit_code == 0
    assert invoke("org", "create", "globex").exit_code == 0
    listed = invoke("org", "list")
    assert listed.exit_code == 0
    names = [line.split("\t")[1] for line in listed.output.splitlines()]
    assert names == ["acme", "globex"]


def test_errors_are_clean_messages_with_nonzero_exit(invoke: Invoke) -> None:
    assert invoke("org", "create", "acme").exit_code == 0
    clash = invoke("org", "create", "acme")
    assert clash.exit_code == 1
    assert "already exists" in clash.output
    assert "Traceback" not in clash.output
    unknown = invoke("key", "create", "--org", "nobody")
    assert unknown.exit_code == 1
    assert "not found" in unknown.output
    bad_email = invoke("user", "create", "--email", "not-an-email", "--name", "X")
    assert (bad_email.exit_code, "not an email" in bad_email.output) == (1, True)
    usage = invoke("user", "create", "--email", "a@b.c", "--name", "A", "--role", "owner")
    assert usage.exit_code == 2 and "--role needs --org" in usage.output
    assert invoke("org", "list").output.count("acme") == 1  # nothing else was written


def test_org_key_is_printed_once_and_authenticates(invoke: Invoke, client: TestClient) -> None:
    invoke("org", "create", "acme")
    created = invoke("key", "create", "--org", "acme", "--role", "manager", "--name", "ci")
    assert created.exit_code == 0
    key = _key_from(created.stdout)
    assert key.startswith("lm_live_")
    me = client.get("/api/me", headers=auth(key))
    assert me.status_code == 200
    assert (me.json()["org_name"], me.json()["role"]) == ("acme", "manager")

    listed = invoke("key", "list", "--org", "acme")
    assert key[:12] in listed.output and key not in listed.output
    assert "manager" in listed.output and "active" in listed.output

    assert invoke("key", "revoke", key[:12]).exit_code == 0
    assert client.get("/api/me", headers=auth(key)).status_code == 401
    assert "revoked" in invoke("key", "list").output
    assert invoke("key", "revoke", "lm_live_nope").exit_code == 1


def test_test_keys_and_member_keys(invoke: Invoke, client: TestClient) -> None:
    invoke("org", "create", "acme")
    test_key = _key_from(invoke("key", "create", "--org", "acme", "--test").stdout)
    assert test_key.startswith("lm_test_")
    assert client.get("/api/me", headers=auth(test_key)).json()["is_test"] is True

    made = invoke(
        "user", "create", "--email", "Ann@Example.com", "--name", "Ann",
        "--org", "acme", "--role", "viewer",
    )  # fmt: skip
    assert made.exit_code == 0 and "viewer of 'acme'" in made.output
    member_key = _key_from(
        invoke("key", "create", "--org", "acme", "--user", "ann@example.com").stdout
    )
    me = client.get("/api/me", headers=auth(member_key)).json()
    assert (me["org_name"], me["role"]) == ("acme", "viewer")
    assert (
        client.post("/api/pools", json={"name": "p"}, headers=auth(member_key)).status_code == 403
    )

    invoke("user", "create", "--email", "out@example.com", "--name", "Out")
    refused = invoke("key", "create", "--org", "acme", "--user", "out@example.com")
    assert refused.exit_code == 1 and "not a member" in refused.output


def test_pools_staffing_and_worker_keys(
    invoke: Invoke, client: TestClient, factory: Factory
) -> None:
    org = factory.org("acme")
    project = factory.project(org, n_tasks=1)
    projects = client.get("/api/projects", headers=auth(org.key)).json()["data"]
    project_name = projects[0]["name"]

    assert invoke("user", "create", "--email", "w@example.com", "--name", "W").exit_code == 0
    worker_key = _key_from(invoke("key", "create", "--user", "w@example.com").stdout)
    assert (
        client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker_key)).status_code
        == 404
    )

    assert invoke("pool", "create", "crowd").exit_code == 0  # a platform pool
    assert invoke("pool", "create", "experts", "--org", "acme").exit_code == 0
    assert invoke("pool", "add-member", "crowd", "--user", "w@example.com").exit_code == 0
    listed = invoke("pool", "list").output
    assert "crowd\t(platform)" in listed and "experts\tacme" in listed

    staffed = invoke("staff", "--org", "acme", "--project", project_name, "--pool", "crowd")
    assert staffed.exit_code == 0, staffed.output
    leased = client.post(f"/api/work/projects/{project.id}/next", headers=auth(worker_key))
    assert leased.status_code == 200
    assert leased.json()["task_id"] == project.task_ids[0]

    missing = invoke("staff", "--org", "acme", "--project", project_name, "--pool", "nope")
    assert missing.exit_code == 1 and "not found" in missing.output
