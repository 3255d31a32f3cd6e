"""The worker's calls: 204 means "nothing to do", the rest are typed answers."""

from __future__ import annotations

import httpx

from ._mock import NOW, Recorder, body

LEASED = {
    "assignment_id": 11,
    "task_id": 5,
    "project_id": 2,
    "task_type": "categorization",
    "data": {"text": "hi"},
    "expires_at": NOW,
}


def test_next_task_returns_none_on_204() -> None:
    recorder = Recorder(lambda request: httpx.Response(204))
    with recorder.client() as client:
        assert client.next_task(2) is None
    assert (recorder.requests[0].method, recorder.requests[0].url.path) == (
        "POST",
        "/api/work/projects/2/next",
    )


def test_next_task_returns_the_lease() -> None:
    with Recorder(lambda request: httpx.Response(200, json=LEASED)).client() as client:
        leased = client.next_task(2)
    assert leased is not None
    assert (leased.assignment_id, leased.data) == (11, {"text": "hi"})


def test_submit_heartbeat_skip() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        action = request.url.path.rsplit("/", 1)[1]
        if action == "submit":
            return httpx.Response(200, json={"annotation_id": 3, "task_id": 5, "late": False})
        if action == "heartbeat":
            return httpx.Response(200, json={"assignment_id": 11, "expires_at": NOW})
        return httpx.Response(204)

    recorder = Recorder(handler)
    with recorder.client() as client:
        result = client.submit(11, {"category": "pos"}, duration_ms=1200)
        beat = client.heartbeat(11)
        client.skip(11)
    assert (result.annotation_id, result.late) == (3, False)
    assert beat.assignment_id == 11
    assert body(recorder.requests[0]) == {"response": {"category": "pos"}, "duration_ms": 1200}
    assert [r.url.path for r in recorder.requests] == [
        "/api/work/assignments/11/submit",
        "/api/work/assignments/11/heartbeat",
        "/api/work/assignments/11/skip",
    ]
