"""``client.datasets`` against the real server on loopback: snapshots are created, listed,
fetched and downloaded with their SHA-256 verified; a corrupted transfer keeps no file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from labelmill.client import (
    Client,
    DatasetIntegrityError,
    InvalidInputError,
    NotFoundError,
)
from tests.factory import Factory


def _answered_project(
    factory: Factory, make_client: Callable[[str], Client], n_tasks: int = 4, answered: int = 2
) -> tuple[str, Client, Client, int]:
    """The org's key and client, a worker's client, and a project with ``answered`` answers."""
    org = factory.org()
    handle = factory.project(org, n_tasks=n_tasks)
    worker = make_client(factory.worker(org).key)
    for category in ["cat", "dog", "bird", "cat"][:answered]:
        leased = worker.next_task(handle.id)
        assert leased is not None
        worker.submit(leased.assignment_id, {"category": category})
    return org.key, make_client(org.key), worker, handle.id


def test_create_list_get_and_verified_download(
    factory: Factory, make_client: Callable[[str], Client], tmp_path: Path
) -> None:
    _, owner, _, project_id = _answered_project(factory, make_client)
    snapshot = owner.datasets.create(project_id, format="jsonl", status="all")
    assert snapshot.state == "ready" and snapshot.row_count == 4
    assert snapshot.filters.status == "all" and snapshot.sha256 is not None

    target = tmp_path / "data.jsonl"
    done = owner.datasets.download(snapshot.id, target)
    content = target.read_bytes()
    assert done.byte_size == len(content) == snapshot.byte_size
    assert done.sha256 == hashlib.sha256(content).hexdigest() == snapshot.sha256
    assert len([json.loads(line) for line in content.splitlines()]) == 4
    assert not list(tmp_path.glob(".*.partial"))

    csv_snapshot = owner.datasets.create(project_id, format="csv")
    assert [d.id for d in owner.datasets.list(project_id).data] == [snapshot.id, csv_snapshot.id]
    assert [d.id for d in owner.datasets.iter(project_id, page_size=1)] == [
        snapshot.id,
        csv_snapshot.id,
    ]
    assert owner.datasets.get(csv_snapshot.id) == csv_snapshot
    assert csv_snapshot.row_count == 2 and csv_snapshot.media_type == "text/csv"


def test_a_snapshot_downloads_the_same_after_more_answers(
    factory: Factory, make_client: Callable[[str], Client], tmp_path: Path
) -> None:
    _, owner, worker, project_id = _answered_project(factory, make_client, answered=1)
    before = owner.datasets.create(project_id)
    first = owner.datasets.download(before.id, tmp_path / "first.jsonl")
    leased = worker.next_task(project_id)
    assert leased is not None
    worker.submit(leased.assignment_id, {"category": "bird"})

    after = owner.datasets.create(project_id)
    again = owner.datasets.download(before.id, tmp_path / "again.jsonl")
    newer = owner.datasets.download(after.id, tmp_path / "newer.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "first.jsonl").read_bytes()
    assert again.sha256 == first.sha256 != newer.sha256
    assert (before.row_count, after.row_count) == (1, 2)


def test_errors_are_typed_and_leave_no_file(
    factory: Factory, make_client: Callable[[str], Client], tmp_path: Path
) -> None:
    _, owner, _, project_id = _answered_project(factory, make_client)
    snapshot = owner.datasets.create(project_id)
    out = tmp_path / "out"
    out.mkdir()
    stranger = make_client(factory.org().key)
    with pytest.raises(NotFoundError):
        stranger.datasets.get(snapshot.id)
    with pytest.raises(NotFoundError):
        stranger.datasets.download(snapshot.id, out / "stolen.jsonl")
    with pytest.raises(NotFoundError):
        stranger.datasets.list(project_id)
    with pytest.raises(InvalidInputError) as bad:
        owner.datasets.create(project_id, format="no-such-format")
    assert bad.value.details[0].loc == ["format"]
    with pytest.raises(InvalidInputError) as bad_options:
        owner.datasets.create(project_id, format="csv", options={"sep": ";"})
    assert bad_options.value.details[0].loc == ["options", "sep"]
    assert [d.id for d in owner.datasets.iter(project_id)] == [snapshot.id]
    assert list(out.iterdir()) == []


class _FlipOneByte(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream) -> None:
        self.inner = inner
        self.flipped = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if chunk and not self.flipped:
                self.flipped = True
                chunk = bytes([chunk[0] ^ 0x01]) + chunk[1:]
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _CorruptingNetwork(httpx.HTTPTransport):
    """The real network to the real server, except that one byte of each download body is
    damaged in transit."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/download"):
            assert isinstance(response.stream, httpx.SyncByteStream)
            response.stream = _FlipOneByte(response.stream)
        return response


def test_a_damaged_download_is_refused_and_not_kept(
    factory: Factory, make_client: Callable[[str], Client], base_url: str, tmp_path: Path
) -> None:
    org_key, owner, _, project_id = _answered_project(factory, make_client)
    snapshot = owner.datasets.create(project_id, status="all")
    out = tmp_path / "out"
    out.mkdir()
    with Client(base_url, org_key, transport=_CorruptingNetwork()) as damaged:
        with pytest.raises(DatasetIntegrityError, match=str(snapshot.sha256)):
            damaged.datasets.download(snapshot.id, out / "broken.jsonl")
    assert list(out.iterdir()) == []
    # The same download over an undamaged connection verifies.
    assert owner.datasets.download(snapshot.id, out / "ok.jsonl").sha256 == snapshot.sha256
