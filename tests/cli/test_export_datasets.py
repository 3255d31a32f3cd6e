"""``labelmill export`` records a dataset snapshot; ``labelmill datasets list`` shows it and
``labelmill datasets download`` fetches the same bytes later; against a real server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from labelmill.client import Client
from labelmill.formats import ExportContext, ExportRecord, FormatError, registry
from tests.cli.conftest import Invoke
from tests.factory import Factory


def _remote(url: str, key: str) -> list[str]:
    return ["--url", url, "--key", key]


def _answer(url: str, key: str, project_id: int, categories: list[str]) -> None:
    with Client(url, key) as worker:
        for category in categories:
            leased = worker.next_task(project_id)
            assert leased is not None
            worker.submit(leased.assignment_id, {"category": category})


def test_export_records_a_snapshot_that_downloads_the_same_later(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=4)
    worker = factory.worker(org)
    _answer(server_url, worker.key, project.id, ["cat", "dog"])

    first = tmp_path / "first.jsonl"
    done = invoke(
        "export", *_remote(server_url, org.key), "--project", str(project.id),
        "--status", "all", "-o", str(first),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert "exported 4 row(s)" in done.output and f"sha256 {digest}" in done.output
    with Client(server_url, org.key) as client:
        (snapshot,) = client.datasets.iter(project.id)
    assert snapshot.sha256 == digest and f"dataset {snapshot.id}," in done.output

    _answer(server_url, worker.key, project.id, ["bird"])
    newer = tmp_path / "newer.jsonl"
    again = invoke(
        "export", *_remote(server_url, org.key), "--project", str(project.id),
        "--status", "all", "-o", str(newer),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert newer.read_bytes() != first.read_bytes()

    listed = invoke("datasets", "list", *_remote(server_url, org.key), "--project", str(project.id))
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert lines[0].startswith("id\tcreated_at\tformat")
    assert [line.split("\t")[0] for line in lines[1:]] == [str(snapshot.id), str(snapshot.id + 1)]
    assert lines[1].split("\t")[2:8] == ["jsonl", "all", "no", "-", "4", str(snapshot.byte_size)]
    assert lines[1].endswith(digest)

    fetched = tmp_path / "fetched.jsonl"
    download = invoke(
        "datasets", "download", str(snapshot.id), *_remote(server_url, org.key), "-o", str(fetched)
    )
    assert download.exit_code == 0, download.output
    assert fetched.read_bytes() == first.read_bytes()
    assert f"sha256 {digest} verified" in download.output
    assert not list(tmp_path.glob(".*.partial"))


def test_export_to_stdout_and_csv_with_filters(
    invoke: Invoke, factory: Factory, server_url: str
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=3)
    _answer(server_url, factory.worker(org).key, project.id, ["dog"])
    result = invoke(
        "export", *_remote(server_url, org.key), "--project", str(project.id),
        "--format", "csv", "--batch", str(project.batch_id), "-o", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "task_id," in result.output and ",dog" in result.output
    assert "exported 1 row(s) to stdout" in result.output


def test_bad_format_option_and_foreign_ids_are_clean_errors(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org, other = factory.org(), factory.org()
    project = factory.project(org, n_tasks=1)
    out = tmp_path / "out.jsonl"
    base = ["export", *_remote(server_url, org.key), "--project", str(project.id), "-o", str(out)]

    unknown = invoke(*base, "--format", "nope")
    assert unknown.exit_code == 1 and "HTTP 422" in unknown.output
    assert "format: unknown export format 'nope'" in unknown.output
    assert "csv, jsonl" in unknown.output
    with_option = invoke(*base, "--option", "sep=;")
    assert with_option.exit_code == 1 and "options.sep" in with_option.output
    malformed = invoke(*base, "--option", "no-equals-sign")
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.output

    theirs = invoke(
        "datasets", "list", *_remote(server_url, other.key), "--project", str(project.id)
    )
    assert theirs.exit_code == 1 and "HTTP 404" in theirs.output
    with Client(server_url, org.key) as client:
        assert list(client.datasets.iter(project.id)) == []
        snapshot = client.datasets.create(project.id)
    stolen = invoke(
        "datasets", "download", str(snapshot.id), *_remote(server_url, other.key), "-o", str(out)
    )
    assert stolen.exit_code == 1 and "HTTP 404" in stolen.output
    assert "Traceback" not in stolen.output + unknown.output
    assert not out.exists() and not list(tmp_path.glob(".*"))


class _AnswersOnly:
    """A test-only format: one JSON answer per line; option ``field`` names the key."""

    name: ClassVar[str] = "test-answers-only"
    media_type: ClassVar[str] = "application/x-ndjson"
    file_extension: ClassVar[str] = "jsonl"
    task_types: ClassVar[frozenset[str] | None] = None

    def check_options(self, context: ExportContext) -> None:
        if not isinstance(context.options.get("field", "answer"), str):
            raise FormatError("options.field: must be text")

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        field = context.options.get("field", "answer")
        for record in records:
            yield (json.dumps({field: record.response}) + "\n").encode()


def test_export_in_a_registered_format_with_options(
    invoke: Invoke,
    factory: Factory,
    server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server runs in this process, so a format registered here is served."""
    monkeypatch.setitem(registry._EXPORTERS, _AnswersOnly.name, _AnswersOnly())
    org = factory.org()
    project = factory.project(org, n_tasks=2)
    _answer(server_url, factory.worker(org).key, project.id, ["cat", "bird"])
    out = tmp_path / "answers.jsonl"
    base = ["export", *_remote(server_url, org.key), "--project", str(project.id), "-o", str(out)]
    done = invoke(*base, "--format", "test-answers-only", "--option", "field=label")
    assert done.exit_code == 0, done.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"label": {"category": "cat"}},
        {"label": {"category": "bird"}},
    ]
    refused = invoke(*base, "--format", "test-answers-only", "--option", "field=3")
    assert refused.exit_code == 1 and "options.field: must be text" in refused.output
