"""Chunked task creation and streamed export against the real server."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labelmill.client import Client, InvalidInputError
from tests.factory import Factory


def numbered(n: int, bad: int | None = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        params = {"nonsense": i} if i == bad else {"attachment": f"item {i}"}
        yield {"params": params, "unique_id": f"u{i}"}


def test_chunks_are_atomic_one_by_one(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org = factory.org()
    handle = factory.project(org)
    owner = make_client(org.key)

    with pytest.raises(InvalidInputError) as caught:
        owner.tasks.create_many(handle.id, numbered(7, bad=4), chunk_size=3, concurrency=1)
    # Input 4 is the second task of the second chunk: reported at its place in the input.
    assert [d.loc[:2] for d in caught.value.details] == [["tasks", 4]]
    # The first chunk stays created; the rejected chunk created nothing; the third never went.
    assert sorted(t.unique_id or "" for t in owner.tasks.iter(handle.id)) == ["u0", "u1", "u2"]

    # Retrying the same (corrected) input is safe thanks to unique ids.
    result = owner.tasks.create_many(handle.id, numbered(7), chunk_size=3)
    assert result.created == 4
    assert [e.index for e in result.existing] == [0, 1, 2]
    assert len(list(owner.tasks.iter(handle.id))) == 7


def test_two_chunks_in_flight_against_the_real_server(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org = factory.org()
    handle = factory.project(org)
    owner = make_client(org.key)
    result = owner.tasks.create_many(handle.id, numbered(2_500), chunk_size=400, concurrency=2)
    assert result.created == 2_500 and len(set(result.task_ids)) == 2_500
    by_id = {t.id: t.unique_id for t in owner.tasks.iter(handle.id)}
    # task_ids come back in input order, whatever order the requests were served in.
    assert [by_id[i] for i in result.task_ids] == [f"u{i}" for i in range(2_500)]

    # A rejected chunk: the chunk after it may have gone out already and is reported.
    other_org = factory.org()  # unique ids are per organization: start afresh
    other = factory.project(other_org)
    other_owner = make_client(other_org.key)
    with pytest.raises(InvalidInputError) as caught:
        other_owner.tasks.create_many(other.id, numbered(9, bad=4), chunk_size=3, concurrency=2)
    created = sorted(t.unique_id or "" for t in other_owner.tasks.iter(other.id))
    assert created == ["u0", "u1", "u2", "u6", "u7", "u8"]
    assert "6 task(s) were created" in caught.value.__notes__[0]


def completed_project(factory: Factory, make_client: Callable[[str], Client]) -> tuple[Client, int]:
    org = factory.org()
    handle = factory.project(org, n_tasks=3)
    worker = make_client(factory.worker(org).key)
    for category in ("cat", "dog"):
        leased = worker.next_task(handle.id)
        assert leased is not None
        worker.submit(leased.assignment_id, {"category": category})
    return make_client(org.key), handle.id


def test_export_jsonl_lines(factory: Factory, make_client: Callable[[str], Client]) -> None:
    owner, project_id = completed_project(factory, make_client)
    rows = [json.loads(line) for line in owner.export(project_id)]
    assert sorted(row["response"]["category"] for row in rows) == ["cat", "dog"]
    assert all(row["status"] == "completed" for row in rows)
    everything = [json.loads(line) for line in owner.export(project_id, status="all")]
    assert len(everything) == 3


def test_export_csv_to_file(
    factory: Factory, make_client: Callable[[str], Client], tmp_path: Path
) -> None:
    owner, project_id = completed_project(factory, make_client)
    target = tmp_path / "export.csv"
    written = owner.export_to_file(project_id, target, format="csv", status="all")
    assert written == target.stat().st_size > 0
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert sorted(row["status"] for row in rows) == ["completed", "completed", "pending"]
    from_lines = list(csv.DictReader(owner.export(project_id, format="csv", status="all")))
    assert from_lines == rows
