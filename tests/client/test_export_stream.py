"""``export`` yields lines while the body is still arriving; ``export_to_file`` writes bytes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelmill.client import NotFoundError
from labelmill.client._export import split_lines

from ._mock import Recorder, error


class ChunkedBody(httpx.SyncByteStream):
    """A response body delivered in awkward pieces, recording how far it has been read."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk


ROWS = [{"task_id": i, "text": "a\u2028b" if i == 2 else f"é{i}"} for i in range(1, 4)]
JSONL = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ROWS).encode()


def test_lines_arrive_incrementally_and_whole() -> None:
    # Cut inside a line and inside the two bytes of "é".
    chunks = [JSONL[:5], JSONL[5:30], JSONL[30:31], JSONL[31:]]
    stream = ChunkedBody(chunks)
    recorder = Recorder(lambda request: httpx.Response(200, stream=stream))
    with recorder.client() as client:
        lines = client.export(4, format="jsonl", status="all", include_gold=True)
        first = next(lines)
        assert stream.sent < len(chunks)  # not buffered whole before the first line
        rest = list(lines)
    assert [json.loads(line) for line in [first, *rest]] == ROWS
    assert all(line.endswith("\n") for line in [first, *rest])
    request = recorder.requests[0]
    assert request.url.path == "/api/projects/4/export"
    assert dict(request.url.params) == {"format": "jsonl", "status": "all", "include_gold": "true"}


def test_csv_lines_feed_csv_reader_with_embedded_newlines() -> None:
    text = 'task_id,text\r\n1,"two\nlines"\r\n2,plain\r\n'
    recorder = Recorder(lambda request: httpx.Response(200, text=text))
    with recorder.client() as client:
        rows = list(csv.reader(client.export(1, format="csv")))
    assert rows == [["task_id", "text"], ["1", "two\nlines"], ["2", "plain"]]


def test_export_to_file_writes_the_exact_bytes(tmp_path: Path) -> None:
    recorder = Recorder(
        lambda request: httpx.Response(200, stream=ChunkedBody([JSONL[:7], JSONL[7:]]))
    )
    target = tmp_path / "out.jsonl"
    with recorder.client() as client:
        written = client.export_to_file(1, target)
    assert target.read_bytes() == JSONL
    assert written == len(JSONL)


def test_error_is_raised_before_any_file_is_created(tmp_path: Path) -> None:
    recorder = Recorder(lambda request: error(404, "not_found", "Project 1 not found"))
    target = tmp_path / "out.jsonl"
    with recorder.client() as client:
        with pytest.raises(NotFoundError):
            client.export_to_file(1, target)
        with pytest.raises(NotFoundError):
            next(client.export(1))
    assert not target.exists()


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([], []),
        (["a"], ["a"]),
        (["a\n", "b"], ["a\n", "b"]),
        (["a\r", "\nb\n"], ["a\r\n", "b\n"]),
        (["", "x\n\n", "y"], ["x\n", "\n", "y"]),
        (["p\u2028q\x0cr\n"], ["p\u2028q\x0cr\n"]),
    ],
)
def test_split_lines(chunks: list[str], lines: list[str]) -> None:
    assert list(split_lines(chunks)) == lines
