"""``tasks.create_many`` sends at most 10,000 tasks per request and merges the results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from labelmill.client import MAX_TASKS_PER_REQUEST, InvalidInputError
from labelmill.schemas import TaskCreate

from ._mock import Recorder, body, error


class FakeBulkServer:
    """Creates tasks with consecutive ids; unique ids ending in ``-dup`` already exist."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.next_id = 1
        self.calls = 0
        self.fail_on_call = fail_on_call

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        tasks = body(request)["tasks"]
        assert len(tasks) <= MAX_TASKS_PER_REQUEST
        if self.calls == self.fail_on_call:
            return error(
                422,
                "invalid_input",
                "bad task",
                [{"loc": ["tasks", 1, "params"], "message": "not an object"}],
            )
        ids, existing = [], []
        for index, task in enumerate(tasks):
            if str(task.get("unique_id", "")).endswith("-dup"):
                existing.append({"index": index, "unique_id": task["unique_id"], "task_id": 999})
            else:
                ids.append(self.next_id)
                self.next_id += 1
        return httpx.Response(
            201, json={"created": len(ids), "task_ids": ids, "existing": existing}
        )


def generate(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"params": {"text": str(i)}, "unique_id": f"u{i}-dup" if i == 10_001 else f"u{i}"}


def test_large_input_is_split_and_results_merged() -> None:
    server = FakeBulkServer()
    recorder = Recorder(server)
    with recorder.client() as client:
        result = client.tasks.create_many(3, generate(25_000), batch_id=9, concurrency=1)
    sizes = [len(body(r)["tasks"]) for r in recorder.requests]
    assert sizes == [10_000, 10_000, 5_000]
    assert all(body(r)["batch_id"] == 9 for r in recorder.requests)
    assert all(r.url.path == "/api/projects/3/tasks" for r in recorder.requests)
    assert result.created == 24_999
    assert result.task_ids == list(range(1, 25_000))
    # The duplicate was position 1 of the second chunk: reported at its position in the input.
    assert [(e.index, e.unique_id) for e in result.existing] == [(10_001, "u10001-dup")]


def test_exactly_one_chunk_and_small_chunk_size() -> None:
    recorder = Recorder(FakeBulkServer())
    with recorder.client() as client:
        client.tasks.create_many(1, generate(MAX_TASKS_PER_REQUEST))
        assert len(recorder.requests) == 1
        client.tasks.create_many(1, generate(5), chunk_size=2)
    assert [len(body(r)["tasks"]) for r in recorder.requests[1:]] == [2, 2, 1]


def test_empty_input_sends_nothing() -> None:
    recorder = Recorder(FakeBulkServer())
    with recorder.client() as client:
        result = client.tasks.create_many(1, [])
    assert recorder.requests == []
    assert (result.created, result.task_ids, result.existing) == (0, [], [])


@pytest.mark.parametrize("chunk_size", [0, MAX_TASKS_PER_REQUEST + 1])
def test_chunk_size_out_of_range(chunk_size: int) -> None:
    with Recorder(FakeBulkServer()).client() as client, pytest.raises(ValueError):
        client.tasks.create_many(1, generate(1), chunk_size=chunk_size)


def test_task_create_objects_send_only_what_was_set() -> None:
    recorder = Recorder(FakeBulkServer())
    tasks: list[TaskCreate | dict[str, Any]] = [
        TaskCreate(params={"a": 1}, priority=5),
        {"params": {"b": 2}, "tags": ["x"]},
    ]
    with recorder.client() as client:
        client.tasks.create_many(1, tasks)
    assert body(recorder.requests[0]) == {
        "batch_id": None,
        "tasks": [{"params": {"a": 1}, "priority": 5}, {"params": {"b": 2}, "tags": ["x"]}],
    }


def test_failure_in_a_later_chunk_names_the_input_position() -> None:
    server = FakeBulkServer(fail_on_call=2)
    recorder = Recorder(server)
    with recorder.client() as client, pytest.raises(InvalidInputError) as caught:
        client.tasks.create_many(1, generate(25_000), concurrency=1)
    assert len(recorder.requests) == 2  # the third chunk is never sent
    assert [d.loc for d in caught.value.details] == [["tasks", 10_001, "params"]]
    assert any("10000 task(s)" in note for note in caught.value.__notes__)


def test_failure_in_the_first_chunk_is_unchanged() -> None:
    recorder = Recorder(FakeBulkServer(fail_on_call=1))
    with recorder.client() as client, pytest.raises(InvalidInputError) as caught:
        client.tasks.create_many(1, generate(3))
    assert [d.loc for d in caught.value.details] == [["tasks", 1, "params"]]
    assert not getattr(caught.value, "__notes__", [])


class ChunkKeyedServer(FakeBulkServer):
    """Answers each chunk by its content, not by arrival order (requests run concurrently):
    ids are ``1000 * chunk + position``, and the chunk starting at ``fail_at`` is rejected."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at

    def __call__(self, request: httpx.Request) -> httpx.Response:
        tasks = body(request)["tasks"]
        first = int(tasks[0]["params"]["text"])
        if first == self.fail_at:
            return error(
                422,
                "invalid_input",
                "bad task",
                [{"loc": ["tasks", 1, "params"], "message": "not an object"}],
            )
        ids = [1000 * (first // len(tasks)) + i for i in range(len(tasks))] if tasks else []
        return httpx.Response(201, json={"created": len(ids), "task_ids": ids, "existing": []})


def plain(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"params": {"text": str(i)}}


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_concurrent_chunks_are_merged_in_input_order(concurrency: int) -> None:
    recorder = Recorder(ChunkKeyedServer())
    with recorder.client() as client:
        result = client.tasks.create_many(1, plain(10), chunk_size=2, concurrency=concurrency)
    assert len(recorder.requests) == 5
    assert result.created == 10
    assert result.task_ids == [1000 * (i // 2) + i % 2 for i in range(10)]


def test_a_rejected_chunk_counts_the_chunk_already_sent_after_it() -> None:
    """With two requests in flight, the chunk after a rejected one may already be created:
    the error says so, and nothing after that is sent."""
    recorder = Recorder(ChunkKeyedServer(fail_at=2))
    with recorder.client() as client, pytest.raises(InvalidInputError) as caught:
        client.tasks.create_many(1, plain(10), chunk_size=2, concurrency=2)
    sent = sorted(int(body(r)["tasks"][0]["params"]["text"]) for r in recorder.requests)
    assert sent == [0, 2, 4]  # chunk 4-5 went out while chunk 2-3 was in flight
    assert [d.loc for d in caught.value.details] == [["tasks", 3, "params"]]
    assert caught.value.__notes__ == [
        "4 task(s) were created: 2 from the first 2 input(s) and 2 from chunks sent after this one."
    ]


def test_concurrency_below_one_is_refused() -> None:
    with Recorder(FakeBulkServer()).client() as client, pytest.raises(ValueError):
        client.tasks.create_many(1, plain(1), concurrency=0)
