"""Scale's wire conventions at the HTTP level, for what the SDK sends and what other Scale
clients may send: missing bodies, bad bodies, Python-cased booleans, repeated query keys,
raw percent-encoded paths, auth schemes, and error bodies that are always
``{"status_code", "error"}`` objects (never a 500)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.factory import Factory

CATS = {"instruction": "Which animal?", "categories": ["cat", "dog"]}


def basic(key: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def http(factory: Factory, base_url: str) -> Iterator[httpx.Client]:
    """A client of one organization, authenticated as the SDK does (Basic, key as user)."""
    key = factory.org().key
    with httpx.Client(base_url=f"{base_url}/v1", headers=basic(key), timeout=30) as client:
        client.post("/projects", json={"type": "categorization", "name": "p", "params": CATS})
        client.post("/batches", json={"project": "p", "name": "b"})
        yield client


def assert_scale_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status_code", "error"}
    assert body["status_code"] == status
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def test_missing_and_null_bodies_are_empty_objects(http: httpx.Client) -> None:
    http.post("/batches/b/setMetadata", json={"a": 1})
    for content in (b"", b"  ", b"null"):
        response = http.post("/batches/b/setMetadata", content=content)
        assert response.status_code == 200, response.text
        assert response.json()["metadata"] == {}
    assert http.post("/batches/b/finalize").status_code == 200
    error = assert_scale_error(http.post("/projects", content=b""), 400)
    assert "type is required" in error


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/projects", b"{not json"),
        ("/projects", b"[1, 2]"),
        ("/projects", b"\xff\xfe"),
        ("/batches", b'"a string"'),
        ("/batches/b/setMetadata", b"[]"),
        ("/projects/p/setParams", b"{"),
    ],
)
def test_unreadable_bodies_are_400(http: httpx.Client, path: str, content: bytes) -> None:
    assert_scale_error(http.post(path, content=content), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"type": 3, "name": "x"},
        {"type": "categorization", "name": ["x"]},
        {"type": "categorization", "name": "x", "params": [1]},
        {"type": "categorization", "name": "x", "params": {"categories": "cat"}},
    ],
)
def test_bad_project_bodies_are_400(http: httpx.Client, body: dict[str, object]) -> None:
    assert_scale_error(http.post("/projects", json=body), 400)
    assert [p["name"] for p in http.get("/projects").json()] == ["p"]


@pytest.mark.parametrize(
    "body",
    [
        {"project": "p"},
        {"project": 1, "name": "c"},
        {"project": "p", "name": "c", "metadata": [1]},
        {"project": "p", "name": "c" * 201},
        {"project": "p", "name": "c", "callback": {"url": "x"}},
    ],
)
def test_bad_batch_bodies_are_400(http: httpx.Client, body: dict[str, object]) -> None:
    assert_scale_error(http.post("/batches", json=body), 400)
    assert http.get("/batches").json()["totalDocs"] == 1


def test_python_cased_booleans_and_repeated_keys(http: httpx.Client) -> None:
    http.post("/batches", json={"project": "p", "name": "c"})
    for value in ("True", "False", "true", "0"):
        response = http.get("/batches", params={"exclude_archived": value})
        assert response.status_code == 200, response.text
    assert_scale_error(http.get("/batches", params={"exclude_archived": "maybe"}), 400)
    # Repeated keys and comma lists both mean "any of".
    both = http.get("/batches", params=[("status", "staging"), ("status", "in_progress")])
    assert both.json()["totalDocs"] == 2
    assert http.get("/batches", params={"status": "staging,in_progress"}).json()["total"] == 2
    assert http.get("/batches", params={"status": "staging"}).json()["docs"] == []
    assert_scale_error(http.get("/batches", params={"status": "done"}), 400)
    # A repeated single-valued key counts by its last occurrence.
    paged = http.get("/batches", params=[("limit", "50"), ("limit", "1")]).json()
    assert (paged["limit"], len(paged["docs"]), paged["has_more"]) == (1, 1, True)
    # patch as a string "True" in a body, as some clients send it.
    response = http.post("/projects/p/setParams", json={"patch": "True", "instruction": "v1"})
    assert response.json()["param_history"][-1]["categories"] == ["cat", "dog"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "ten"},
        {"limit": "-1"},
        {"offset": "-1"},
        {"offset": "99999999999999999999999"},
        {"start_time": "2024-13-01"},
    ],
)
def test_bad_query_values_are_400(http: httpx.Client, query: dict[str, str]) -> None:
    assert_scale_error(http.get("/batches", params=query), 400)


def test_encoded_names_route_on_the_raw_path(http: httpx.Client) -> None:
    http.post("/projects", json={"type": "comparison", "name": "a/setParams"})
    # a%2FsetParams is one name; a/setParams (unencoded) is the setParams route of "a".
    assert http.get("/projects/a%2FsetParams").json()["name"] == "a/setParams"
    assert_scale_error(http.post("/projects/a/setParams", json={}), 404)
    assert http.get("/projects/p%2520x").status_code == 404  # "%20" literally: no such name
    assert_scale_error(http.get("/projects/%ff"), 400)  # not UTF-8: unreadable
    assert_scale_error(http.post("/batches/%ff%fe/finalize"), 400)


def test_unknown_routes_and_methods_are_scale_404s(http: httpx.Client) -> None:
    assert_scale_error(http.get("/nothing/here"), 404)
    assert_scale_error(http.delete("/projects/p"), 404)
    assert_scale_error(http.get("/projects/p/taskTemplates"), 404)


def test_auth_schemes(factory: Factory, base_url: str) -> None:
    key = factory.org().key
    url = f"{base_url}/v1/projects"
    assert httpx.get(url, headers=basic(key)).json() == []
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}).json() == []
    for headers in (
        {},
        basic("lm_live_wrong"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest abc"},
        basic(""),
    ):
        assert_scale_error(httpx.get(url, headers=headers), 401)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/projects", {"type": "comparison", "name": "x\u0000y"}),
        ("/batches", {"project": "p", "name": "c\u0000"}),
        ("/batches/b/setMetadata", {"k": "v\u0000"}),
        ("/projects/p/setParams", {"patch": True, "instruction": "\u0000"}),
    ],
)
def test_values_a_database_cannot_store_are_not_500(
    http: httpx.Client, path: str, body: dict[str, object]
) -> None:
    # SQLite stores a NUL character, PostgreSQL refuses it: either way no 500.
    response = http.post(path, json=body)
    if response.status_code != 200:
        assert_scale_error(response, 400)
