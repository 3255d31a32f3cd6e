"""List calls return one page; ``iter`` follows ``next_cursor`` until the end."""

from __future__ import annotations

import itertools

import httpx
import pytest

from ._mock import Recorder, task_json

PAGES = {
    None: ([1, 2], "c1"),
    "c1": ([3, 4], "c2"),
    "c2": ([5], None),
}


def serve_pages(request: httpx.Request) -> httpx.Response:
    ids, next_cursor = PAGES[request.url.params.get("cursor")]
    return httpx.Response(
        200, json={"data": [task_json(i) for i in ids], "next_cursor": next_cursor}
    )


def test_iter_follows_every_cursor_with_the_same_filters() -> None:
    recorder = Recorder(serve_pages)
    with recorder.client() as client:
        ids = [t.id for t in client.tasks.iter(1, status="pending", is_gold=False, page_size=2)]
    assert ids == [1, 2, 3, 4, 5]
    assert [dict(r.url.params) for r in recorder.requests] == [
        {"status": "pending", "is_gold": "false", "limit": "2"},
        {"status": "pending", "is_gold": "false", "limit": "2", "cursor": "c1"},
        {"status": "pending", "is_gold": "false", "limit": "2", "cursor": "c2"},
    ]


def test_iter_is_lazy() -> None:
    recorder = Recorder(serve_pages)
    with recorder.client() as client:
        first_three = list(itertools.islice(client.tasks.iter(1), 3))
    assert [t.id for t in first_three] == [1, 2, 3]
    assert len(recorder.requests) == 2


def test_list_returns_one_typed_page_and_sends_no_unset_filters() -> None:
    recorder = Recorder(serve_pages)
    with recorder.client() as client:
        page = client.tasks.list(1)
    assert [t.id for t in page.data] == [1, 2]
    assert page.next_cursor == "c1"
    assert page.data[0].metadata == {"row": 1}
    assert recorder.requests[0].url.path == "/api/projects/1/tasks"
    assert dict(recorder.requests[0].url.params) == {}


def test_a_cursor_that_repeats_stops_the_iteration() -> None:
    def stuck(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [task_json(1)], "next_cursor": "same"})

    with Recorder(stuck).client() as client, pytest.raises(RuntimeError, match="same cursor"):
        list(client.tasks.iter(1))


def test_other_resources_iterate_too() -> None:
    job = {
        "id": 1,
        "kind": "callback",
        "payload": {},
        "status": "done",
        "attempts": 1,
        "max_attempts": 20,
        "run_after": "2026-01-01T00:00:00Z",
        "last_error": None,
        "created_at": "2026-01-01T00:00:00Z",
        "finished_at": None,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        return httpx.Response(
            200,
            json={
                "data": [{**job, "id": 2 if cursor else 1}],
                "next_cursor": None if cursor else "next",
            },
        )

    recorder = Recorder(handler)
    with recorder.client() as client:
        jobs = list(client.jobs.iter(kind="callback"))
    assert [j.id for j in jobs] == [1, 2]
    assert recorder.requests[1].url.params["kind"] == "callback"
