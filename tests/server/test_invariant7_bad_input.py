"""Invariant 7: a bad request changes nothing and gets a clear 4xx, never a 500.

Every check counts the rows of every table before and after: a refused request must leave
the database exactly as it was. Error bodies follow docs/api.md:
``{"error": {"code", "message", "details": [{"loc", "message"}]}}``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from labelmill.server.app import create_app
from labelmill.server.db.base import Base
from labelmill.server.db.engine import Database
from tests.conftest import Backend
from tests.factory import Factory, ProjectHandle, WorkerHandle, auth


def row_counts(db: Database) -> dict[str, int]:
    with db.read_session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def assert_error_body(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert isinstance(detail["loc"], list) and isinstance(detail["message"], str)
    return dict(error)


def _lease(client: TestClient, project_id: int, worker: WorkerHandle) -> int:
    response = client.post(f"/api/work/projects/{project_id}/next", headers=auth(worker.key))
    assert response.status_code == 200
    return int(response.json()["assignment_id"])


def _body_routes(project: ProjectHandle, pool_id: int, assignment: int) -> list[tuple[str, str]]:
    task = project.task_ids[0]
    return [
        ("POST", "/api/projects"),
        ("PATCH", f"/api/projects/{project.id}"),
        ("POST", f"/api/projects/{project.id}/staffing"),
        ("POST", f"/api/projects/{project.id}/batches"),
        ("POST", f"/api/projects/{project.id}/tasks"),
        ("POST", f"/api/projects/{project.id}/datasets"),
        ("PATCH", f"/api/tasks/{task}"),
        ("POST", "/api/pools"),
        ("POST", f"/api/pools/{pool_id}/members"),
        ("POST", "/api/workers"),
        ("POST", f"/api/work/assignments/{assignment}/submit"),
    ]


@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b"not json", b"", b"[1, 2", b'{"a": 1}{"b": 2}', b"\xff\xfe\x00"],
    ids=["truncated", "text", "empty", "array", "two-docs", "binary"],
)
def test_malformed_json_is_400_and_writes_nothing(
    client: TestClient, db: Database, factory: Factory, raw: bytes
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=2)
    worker = factory.worker(org)
    assignment = _lease(client, project.id, worker)
    before = row_counts(db)
    for method, path in _body_routes(project, org.pool_id, assignment):
        key = worker.key if "/work/" in path else org.key
        response = client.request(
            method,
            path,
            content=raw,
            headers={**auth(key), "Content-Type": "application/json"},
        )
        if raw == b"":
            # An empty body is a missing body: 400 or 422, never written.
            assert response.status_code in (400, 422), (path, response.text)
        else:
            assert_error_body(response, 400, "malformed")
    assert row_counts(db) == before


WRONG: list[tuple[str, str, Any, list[Any]]] = [
    # (method, path template, body, a loc the details must contain)
    ("POST", "/api/projects", {"name": 5, "task_type": "categorization", "params": {}}, ["name"]),
    (
        "POST",
        "/api/projects",
        {"name": "p", "task_type": "categorization", "params": {}, "colour": "red"},
        ["colour"],
    ),
    (
        "POST",
        "/api/projects",
        {"name": "p", "task_type": "categorization", "params": {"categories": ["a"]}},
        ["params", "categories"],
    ),
    (
        "POST",
        "/api/projects",
        {"name": "p", "task_type": "no-such-type", "params": {}},
        ["task_type"],
    ),
    (
        "POST",
        "/api/projects",
        {"name": "p", "task_type": "categorization", "params": {}, "min_labels": "three"},
        ["min_labels"],
    ),
    ("PATCH", "/api/projects/{project}", {"min_labels": 0}, ["min_labels"]),
    ("PATCH", "/api/projects/{project}", {"gold_rate": 2}, ["gold_rate"]),
    ("POST", "/api/projects/{project}/batches", {"name": ""}, ["name"]),
    ("POST", "/api/projects/{project}/batches", {"name": "b", "start": "soon"}, ["start"]),
    ("POST", "/api/projects/{project}/tasks", {"tasks": []}, ["tasks"]),
    ("POST", "/api/projects/{project}/tasks", {"tasks": "many"}, ["tasks"]),
    ("POST", "/api/projects/{project}/tasks", {"tasks": [{"params": {}, "x": 1}]}, [0, "x"]),
    ("POST", "/api/projects/{project}/datasets", {"format": "nope"}, ["format"]),
    ("POST", "/api/projects/{project}/datasets", {"format": "jsonl", "status": 3}, ["status"]),
    ("PATCH", "/api/tasks/{task}", {"priority": "high"}, ["priority"]),
    ("PATCH", "/api/tasks/{task}", {"tags": "a,b"}, ["tags"]),
    ("POST", "/api/pools", {"name": ["x"]}, ["name"]),
    ("POST", "/api/pools/{pool}/members", {"user_id": "me"}, ["user_id"]),
    ("POST", "/api/workers", {"name": "w", "pool_id": "in-house"}, ["pool_id"]),
    ("POST", "/api/projects/{project}/staffing", {}, ["pool_id"]),
    ("POST", "/api/work/assignments/{assignment}/submit", {"response": "cat"}, ["response"]),
    (
        "POST",
        "/api/work/assignments/{assignment}/submit",
        {"response": {"category": "horse"}},
        ["response", "category"],
    ),
    (
        "POST",
        "/api/work/assignments/{assignment}/submit",
        {"response": {"category": "cat"}, "duration_ms": -1},
        ["duration_ms"],
    ),
    (
        "POST",
        "/api/work/assignments/{assignment}/submit",
        {"response": {"category": "cat"}, "extra": True},
        ["extra"],
    ),
]


def test_wrong_types_and_unknown_fields_are_422_naming_the_field(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=2)
    worker = factory.worker(org)
    ids = {
        "project": project.id,
        "task": project.task_ids[0],
        "pool": org.pool_id,
        "assignment": _lease(client, project.id, worker),
    }
    before = row_counts(db)
    for method, template, body, loc in WRONG:
        path = template.format(**ids)
        key = worker.key if "/work/" in path else org.key
        response = client.request(method, path, json=body, headers=auth(key))
        error = assert_error_body(response, 422, "invalid_input")
        locs = [d["loc"] for d in error["details"]]
        assert any(_contains(found, loc) for found in locs), (template, body, locs)
    assert row_counts(db) == before


def _contains(loc: list[Any], part: list[Any]) -> bool:
    return any(loc[i : i + len(part)] == part for i in range(len(loc) - len(part) + 1))


def test_one_bad_row_among_many_imports_nothing_and_names_each_row(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org)
    tasks: list[dict[str, Any]] = [
        {"params": {"attachment": f"item {i}"}, "unique_id": f"u{i}"} for i in range(2000)
    ]
    tasks[137]["params"] = {"attachment": 5}
    tasks[1500]["gold_answer"] = {"category": "horse"}
    tasks[1800]["unique_id"] = "u3"  # repeats row 3 of this request
    before = row_counts(db)
    response = client.post(
        f"/api/projects/{project.id}/tasks", json={"tasks": tasks}, headers=auth(org.key)
    )
    error = assert_error_body(response, 422, "invalid_input")
    rows = sorted({d["loc"][1] for d in error["details"] if d["loc"][:1] == ["tasks"]})
    assert rows == [137, 1500, 1800], error["details"]
    assert any(d["loc"] == ["tasks", 137, "params", "attachment"] for d in error["details"])
    assert any(d["loc"] == ["tasks", 1500, "gold_answer", "category"] for d in error["details"])
    assert "nothing was created" in error["message"]
    assert row_counts(db) == before

    # A shape error in one row (wrong type at the schema level) is named the same way.
    tasks = [{"params": {"attachment": f"item {i}"}} for i in range(2000)]
    tasks[999]["priority"] = "high"
    response = client.post(
        f"/api/projects/{project.id}/tasks", json={"tasks": tasks}, headers=auth(org.key)
    )
    error = assert_error_body(response, 422, "invalid_input")
    assert error["details"][0]["loc"] == ["tasks", 999, "priority"]
    assert row_counts(db) == before


def test_a_bad_last_row_stops_an_import_even_after_the_good_rows_were_sent(
    client: TestClient, db: Database, factory: Factory
) -> None:
    """Rows go to the database while later ones are still being checked; a bad row at the
    very end (also one whose unique_id already exists) must still undo everything."""
    org = factory.org()
    project = factory.project(org)
    url = f"/api/projects/{project.id}/tasks"
    first = [{"params": {"attachment": f"item {i}"}, "unique_id": f"u{i}"} for i in range(10)]
    assert client.post(url, json={"tasks": first}, headers=auth(org.key)).status_code == 201
    before = row_counts(db)
    for bad_index, unique_id in ((2999, "new-last"), (2999, "u5")):
        tasks: list[dict[str, Any]] = [
            {"params": {"attachment": f"more {i}"}, "unique_id": f"m{i}"} for i in range(3000)
        ]
        tasks[bad_index] = {"params": {"attachment": ["not", "text"]}, "unique_id": unique_id}
        response = client.post(url, json={"tasks": tasks}, headers=auth(org.key))
        error = assert_error_body(response, 422, "invalid_input")
        assert {d["loc"][1] for d in error["details"]} == {bad_index}, error["details"]
        assert row_counts(db) == before
    # The same rows without the bad one go in whole.
    tasks = [{"params": {"attachment": f"more {i}"}, "unique_id": f"m{i}"} for i in range(2999)]
    created = client.post(url, json={"tasks": tasks}, headers=auth(org.key))
    assert created.status_code == 201 and created.json()["created"] == 2999


def test_more_than_10000_tasks_is_413_and_10000_is_fine(
    client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org)
    before = row_counts(db)
    too_many: dict[str, Any] = {"tasks": [{"params": {}} for _ in range(10_001)]}
    response = client.post(
        f"/api/projects/{project.id}/tasks", json=too_many, headers=auth(org.key)
    )
    assert_error_body(response, 413, "payload_too_large")
    assert row_counts(db) == before
    response = client.post(
        f"/api/projects/{project.id}/tasks",
        json={"tasks": too_many["tasks"][:10_000]},
        headers=auth(org.key),
    )
    assert response.status_code == 201
    assert response.json()["created"] == 10_000


@pytest.fixture
def small_client(backend: Backend, db: Database) -> Iterator[TestClient]:
    """The app with a 4 KiB body limit."""
    settings = backend.settings.model_copy(update={"max_body_bytes": 4096})
    app = create_app(settings, database=db, migrate_on_start=False)
    with TestClient(app) as client:
        yield client


def test_oversize_bodies_are_413_declared_or_streamed(
    small_client: TestClient, db: Database, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org)
    before = row_counts(db)
    big = {"tasks": [{"params": {"attachment": "x" * 100}} for _ in range(100)]}
    declared = small_client.post(
        f"/api/projects/{project.id}/tasks", json=big, headers=auth(org.key)
    )
    assert_error_body(declared, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        payload = orjson.dumps(big)
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    streamed = small_client.post(
        f"/api/projects/{project.id}/tasks",
        content=chunks(),
        headers={**auth(org.key), "Content-Type": "application/json"},
    )
    assert_error_body(streamed, 413, "payload_too_large")
    project_body = {
        "name": "p",
        "task_type": "categorization",
        "params": {"categories": ["a", "b"], "instruction": "y" * 5000},
    }
    response = small_client.post("/api/projects", json=project_body, headers=auth(org.key))
    assert_error_body(response, 413, "payload_too_large")
    assert row_counts(db) == before
    # Under the limit is fine.
    small = {"tasks": [{"params": {"attachment": "x"}}]}
    ok = small_client.post(f"/api/projects/{project.id}/tasks", json=small, headers=auth(org.key))
    assert ok.status_code == 201


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


BAD_CURSORS = [
    "garbage!",
    "%%%",
    "bm90IGpzb24",  # base64 of "not json"
    _cursor([1, 2]),
    _cursor({"v": 2, "after": 1}),
    _cursor({"v": 1, "after": -1}),
    _cursor({"v": 1, "after": "1"}),
    _cursor({"v": 1, "after": True}),
    _cursor({"v": 1}),
    _cursor("after"),
    base64.urlsafe_b64encode(b'{"v":1,"after":100000000000000000000000000}').decode(),
]


def test_bad_cursors_are_400_and_bad_limits_422_on_every_list(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=3)
    lists = [
        "/api/projects",
        "/api/pools",
        "/api/jobs",
        "/api/audit",
        f"/api/projects/{project.id}/versions",
        f"/api/projects/{project.id}/batches",
        f"/api/projects/{project.id}/tasks",
        f"/api/tasks/{project.task_ids[0]}/annotations",
    ]
    for path in lists:
        for cursor in BAD_CURSORS:
            response = client.get(path, params={"cursor": cursor}, headers=auth(org.key))
            assert_error_body(response, 400, "malformed")
        for limit in ("0", "1001", "-5", "ten", "1.5", "99999999999999999999999"):
            response = client.get(path, params={"limit": limit}, headers=auth(org.key))
            assert_error_body(response, 422, "invalid_input")
        assert client.get(path, params={"limit": 1000}, headers=auth(org.key)).status_code == 200


OUT_OF_RANGE = [2**63, 10**30]


@pytest.mark.parametrize("huge", OUT_OF_RANGE)
def test_ids_beyond_64_bits_are_4xx_not_500(
    app: Any, db: Database, factory: Factory, huge: int
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1)
    worker = factory.worker(org)
    client = TestClient(app, raise_server_exceptions=False)
    probes: list[tuple[str, str, Any, str]] = [
        ("GET", f"/api/projects/{huge}", None, org.key),
        ("GET", f"/api/tasks/{huge}", None, org.key),
        ("GET", f"/api/batches/{huge}", None, org.key),
        ("GET", f"/api/projects/{project.id}/tasks?batch_id={huge}", None, org.key),
        ("POST", f"/api/projects/{project.id}/staffing", {"pool_id": huge}, org.key),
        ("POST", f"/api/pools/{org.pool_id}/members", {"user_id": huge}, org.key),
        (
            "POST",
            f"/api/projects/{project.id}/tasks",
            {"batch_id": huge, "tasks": [{"params": {}}]},
            org.key,
        ),
        ("POST", "/api/workers", {"name": "w", "pool_id": huge}, org.key),
        ("POST", f"/api/work/projects/{huge}/next", None, worker.key),
        (
            "POST",
            f"/api/work/assignments/{huge}/submit",
            {"response": {"category": "cat"}},
            worker.key,
        ),
    ]
    before = row_counts(db)
    for method, path, body, key in probes:
        response = client.request(method, path, json=body, headers=auth(key))
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.json()["error"]["code"] in ("not_found", "invalid_input")
    assert row_counts(db) == before


def test_nul_characters_never_500(app: Any, db: Database, factory: Factory) -> None:
    """PostgreSQL cannot store NUL in text; SQLite can. Either a clean 4xx or stored."""
    org = factory.org()
    project = factory.project(org, n_tasks=1)
    client = TestClient(app, raise_server_exceptions=False)
    probes: list[tuple[str, str, Any]] = [
        ("POST", "/api/pools", {"name": "x\u0000"}),
        (
            "POST",
            "/api/projects",
            {
                "name": "a\u0000",
                "task_type": "categorization",
                "params": {"categories": ["a", "b"]},
            },
        ),
        (
            "POST",
            f"/api/projects/{project.id}/tasks",
            {"tasks": [{"params": {"attachment": "\u0000"}}]},
        ),
        ("POST", f"/api/projects/{project.id}/tasks", {"tasks": [{"metadata": {"k": "\u0000"}}]}),
        ("POST", f"/api/projects/{project.id}/tasks", {"tasks": [{"unique_id": "\u0000"}]}),
        ("GET", f"/api/projects/{project.id}/tasks?tag=%00", None),
        ("GET", f"/api/projects/{project.id}/tasks?unique_id=%00", None),
    ]
    for method, path, body in probes:
        before = row_counts(db)
        response = client.request(method, path, json=body, headers=auth(org.key))
        assert response.status_code < 500, (path, body, response.text)
        if response.status_code >= 400:
            assert_error_body(response, 422, "invalid_input")
            assert row_counts(db) == before


# --- Fuzz: arbitrary JSON bodies on the main write routes never get a 500 -----------------

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    # Values databases refuse: integers beyond 64 bits, NUL characters.
    | st.sampled_from([2**63, -(2**63) - 1, 10**30, "\x00", "a\x00b"])
)
_json = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


_ids = st.sampled_from([2**63, 10**30, -1, 0, 1, 2, 3]) | _json
_texts = st.sampled_from(["\x00", "a\x00b", "", " "]) | st.text(max_size=8) | _json


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects mostly made of the route's own fields with edgy values, plus stray keys."""
    return st.fixed_dictionaries(
        {}, optional={**fields, "stray": _json, "": _json}
    ) | st.dictionaries(st.sampled_from(sorted(fields)) | st.text(max_size=8), _json, max_size=4)


_params = _object(
    {"attachment": _texts, "attachment_type": _texts, "categories": _json, "instruction": _texts}
)
_task = _object(
    {
        "params": _params | _json,
        "unique_id": _texts,
        "metadata": st.dictionaries(st.text(max_size=4), _texts, max_size=2) | _json,
        "tags": st.lists(_texts, max_size=3) | _json,
        "priority": _ids,
        "gold_answer": _object({"category": _texts}) | _json,
    }
)
_BODIES: dict[str, st.SearchStrategy[Any]] = {
    "project": _object(
        {
            "name": _texts,
            "task_type": st.sampled_from(["categorization", "x"]) | _json,
            "params": _params | _json,
            "min_labels": _ids,
            "max_labels": _ids,
            "gold_rate": _json,
            "lease_seconds": _ids,
        }
    ),
    "patch_project": _object(
        {"name": _texts, "params": _params | _json, "min_labels": _ids, "gold_rate": _json}
    ),
    "batch": _object({"name": _texts, "callback_url": _texts, "metadata": _json, "start": _json}),
    "tasks": _object({"tasks": st.lists(_task, max_size=3) | _json, "batch_id": _ids}),
    "patch_task": _object(
        {"priority": _ids, "tags": st.lists(_texts, max_size=2), "metadata": _json}
    ),
    "pool": _object({"name": _texts}),
    "worker": _object({"name": _texts, "email": _texts, "pool_id": _ids, "reviewer": _json}),
    "staffing": _object({"pool_id": _ids}),
    "member": _object({"user_id": _ids, "annotator": _json, "reviewer": _json}),
    "submit": _object({"response": _object({"category": _texts}) | _json, "duration_ms": _ids}),
}


@pytest.fixture
def fuzz_routes(app: Any, factory: Factory) -> dict[str, tuple[str, str, str]]:
    """The routes to fuzz, on one world built once for all examples."""
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=3)
    worker = factory.worker(org)
    with TestClient(app) as client:
        assignment = _lease(client, project.id, worker)
    return {
        "project": ("POST", "/api/projects", org.key),
        "patch_project": ("PATCH", f"/api/projects/{project.id}", org.key),
        "batch": ("POST", f"/api/projects/{project.id}/batches", org.key),
        "tasks": ("POST", f"/api/projects/{project.id}/tasks", org.key),
        "patch_task": ("PATCH", f"/api/tasks/{project.task_ids[0]}", org.key),
        "pool": ("POST", "/api/pools", org.key),
        "worker": ("POST", "/api/workers", org.key),
        "staffing": ("POST", f"/api/projects/{project.id}/staffing", org.key),
        "member": ("POST", f"/api/pools/{org.pool_id}/members", org.key),
        "submit": ("POST", f"/api/work/assignments/{assignment}/submit", worker.key),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_bodies_never_500_and_refusals_write_nothing(
    app: Any, db: Database, fuzz_routes: dict[str, tuple[str, str, str]], data: st.DataObject
) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    for name, (method, path, key) in sorted(fuzz_routes.items()):
        body = data.draw(_BODIES[name] | _json, label=name)
        before = row_counts(db)
        response = client.request(method, path, json=body, headers=auth(key))
        assert response.status_code < 500, (name, body, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] and error["message"], response.text
            assert row_counts(db) == before, (name, body, response.text)
