"""Dataset snapshots through the real app, on both databases: every export is stored with
its recipe, answers' version, size, rows and hash, and downloads again byte-identical after
the answers changed; foreign ids are 404; bad requests are 422 and store nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labelmill.formats import ExportContext, ExportRecord, FormatError, registry
from labelmill.server.db.engine import Database
from labelmill.server.models import Dataset, DatasetChunk
from labelmill.server.services import datasets, export, projects
from labelmill.server.services.auth import CLI_ADMIN
from tests.factory import Factory, OrgHandle, ProjectHandle, WorkerHandle, auth
from tests.server.loop import answer_next


def _stored(db: Database) -> tuple[int, int]:
    """How many snapshots and chunks the database holds."""
    with db.read_session() as session:
        n_datasets = session.scalar(select(func.count()).select_from(Dataset))
        n_chunks = session.scalar(select(func.count()).select_from(DatasetChunk))
    return int(n_datasets or 0), int(n_chunks or 0)


def _download(client: TestClient, key: str, dataset_id: int) -> bytes:
    response = client.get(f"/api/datasets/{dataset_id}/download", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.content


def _project_with_answers(
    factory: Factory, client: TestClient, n_tasks: int = 6, answered: int = 3
) -> tuple[OrgHandle, ProjectHandle, WorkerHandle]:
    org = factory.org()
    project = factory.project(org, n_tasks=n_tasks)
    worker = factory.worker(org)
    for i in range(answered):
        answer_next(client, project.id, worker, ["cat", "dog", "bird"][i % 3])
    return org, project, worker


def _create(client: TestClient, key: str, project_id: int, **body: Any) -> Any:
    return client.post(f"/api/projects/{project_id}/datasets", json=body, headers=auth(key))


def test_a_snapshot_records_its_recipe_counts_and_hash(
    client: TestClient, factory: Factory
) -> None:
    org, project, _ = _project_with_answers(factory, client)
    created = _create(client, org.key, project.id, format="jsonl", status="all")
    assert created.status_code == 201, created.text
    meta = created.json()
    assert meta["state"] == "ready" and meta["project_id"] == project.id
    assert meta["format"] == "jsonl" and meta["options"] == {}
    assert meta["filters"] == {"status": "all", "include_gold": False, "batch_id": None}
    assert meta["row_count"] == 6
    assert meta["media_type"] == "application/x-ndjson"
    assert meta["filename"] == f"project-{project.id}-dataset-{meta['id']}.jsonl"
    assert meta["answers_version"]["params_version"] == 1
    assert meta["answers_version"]["max_task_id"] == max(project.task_ids)
    assert meta["answers_version"]["last_completed_at"] is not None

    body = _download(client, org.key, meta["id"])
    assert len(body) == meta["byte_size"]
    assert hashlib.sha256(body).hexdigest() == meta["sha256"]
    rows = [json.loads(line) for line in body.split(b"\n") if line]
    assert [r["task_id"] for r in rows] == project.task_ids
    assert sum(r["status"] == "completed" for r in rows) == 3

    completed = _create(client, org.key, project.id, format="csv").json()
    assert completed["row_count"] == 3 and completed["filters"]["status"] == "completed"
    csv_body = _download(client, org.key, completed["id"])
    assert csv_body.count(b"\n") == 4  # header + 3 rows
    assert hashlib.sha256(csv_body).hexdigest() == completed["sha256"]

    listed = client.get(f"/api/projects/{project.id}/datasets", headers=auth(org.key)).json()
    assert [d["id"] for d in listed["data"]] == [meta["id"], completed["id"]]
    page = client.get(
        f"/api/projects/{project.id}/datasets", params={"limit": 1}, headers=auth(org.key)
    ).json()
    assert [d["id"] for d in page["data"]] == [meta["id"]] and page["next_cursor"]
    got = client.get(f"/api/datasets/{meta['id']}", headers=auth(org.key)).json()
    assert got == meta


def test_the_export_route_records_a_snapshot_of_what_it_sent(
    client: TestClient, factory: Factory, db: Database
) -> None:
    org, project, _ = _project_with_answers(factory, client)
    exported = client.get(
        f"/api/projects/{project.id}/export", params={"format": "csv"}, headers=auth(org.key)
    )
    assert exported.status_code == 200
    dataset_id = int(exported.headers["X-Labelmill-Dataset-Id"])
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"dataset-{dataset_id}.csv" in exported.headers["content-disposition"]
    digest = hashlib.sha256(exported.content).hexdigest()
    assert exported.headers["X-Labelmill-Content-Sha256"] == digest
    meta = client.get(f"/api/datasets/{dataset_id}", headers=auth(org.key)).json()
    assert (meta["sha256"], meta["row_count"], meta["format"]) == (digest, 3, "csv")
    assert _download(client, org.key, dataset_id) == exported.content
    assert _stored(db)[0] == 1


def test_redownload_is_byte_identical_after_the_answers_change(
    client: TestClient, factory: Factory
) -> None:
    org, project, worker = _project_with_answers(factory, client, n_tasks=4, answered=1)
    first = _create(client, org.key, project.id, status="all").json()
    first_bytes = _download(client, org.key, first["id"])

    answer_next(client, project.id, worker, "bird")  # a pending task completes
    second = _create(client, org.key, project.id, status="all").json()
    second_bytes = _download(client, org.key, second["id"])

    assert _download(client, org.key, first["id"]) == first_bytes
    assert hashlib.sha256(first_bytes).hexdigest() == first["sha256"]
    assert second_bytes != first_bytes and second["sha256"] != first["sha256"]
    assert first["row_count"] == second["row_count"] == 4
    v1, v2 = first["answers_version"], second["answers_version"]
    assert v2["tasks_updated_at"] > v1["tasks_updated_at"]
    assert v2["last_completed_at"] > v1["last_completed_at"]
    answers = [json.loads(line)["response"] for line in second_bytes.split(b"\n") if line]
    assert sorted(a["category"] for a in answers if a) == ["bird", "cat"]


def test_filters_batch_and_gold(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=3, gold={0: "cat"})
    other_batch = client.post(
        f"/api/projects/{project.id}/batches", json={"name": "b2"}, headers=auth(org.key)
    ).json()["id"]
    added = client.post(
        f"/api/projects/{project.id}/tasks",
        json={"tasks": [{"params": {"attachment": "late"}}], "batch_id": other_batch},
        headers=auth(org.key),
    )
    assert added.status_code == 201, added.text
    no_gold = _create(client, org.key, project.id, status="all").json()
    with_gold = _create(client, org.key, project.id, status="all", include_gold=True).json()
    only_b2 = _create(client, org.key, project.id, status="all", batch_id=other_batch).json()
    assert (no_gold["row_count"], with_gold["row_count"], only_b2["row_count"]) == (3, 4, 1)
    assert only_b2["filters"]["batch_id"] == other_batch
    rows = _download(client, org.key, only_b2["id"]).split(b"\n")
    assert json.loads(rows[0])["params"]["attachment"] == "late"


def test_foreign_datasets_are_not_found(client: TestClient, factory: Factory) -> None:
    org, project, _ = _project_with_answers(factory, client)
    other = factory.org()
    mine = _create(client, org.key, project.id).json()["id"]
    missing = mine + 1000
    for path in ("/api/datasets/{}", "/api/datasets/{}/download"):
        foreign = client.get(path.format(mine), headers=auth(other.key))
        absent = client.get(path.format(missing), headers=auth(other.key))
        assert foreign.status_code == absent.status_code == 404
        assert foreign.json()["error"]["message"] == absent.json()["error"]["message"].replace(
            str(missing), str(mine)
        )
    for response in (
        client.get(f"/api/projects/{project.id}/datasets", headers=auth(other.key)),
        _create(client, other.key, project.id),
        client.get(f"/api/projects/{project.id}/export", headers=auth(other.key)),
    ):
        assert response.status_code == 404, response.text
    # The other organization's own list is empty, and a batch of this project is no filter
    # for a project of theirs.
    theirs = factory.project(other)
    listed = client.get(f"/api/projects/{theirs.id}/datasets", headers=auth(other.key))
    assert listed.json()["data"] == []
    foreign_batch = _create(client, other.key, theirs.id, batch_id=project.batch_id)
    assert foreign_batch.status_code == 422
    assert foreign_batch.json()["error"]["details"][0]["loc"] == ["batch_id"]


def test_viewers_may_snapshot_and_workers_may_not(client: TestClient, factory: Factory) -> None:
    org, project, worker = _project_with_answers(factory, client)
    viewer = factory.key(org, "viewer")
    assert _create(client, viewer, project.id).status_code == 201
    # A worker's key belongs to no organization: the project does not exist for it.
    refused = _create(client, worker.key, project.id)
    assert refused.status_code == 404, refused.text


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"format": "no-such-format"}, "format", "unknown export format 'no-such-format'"),
        ({"format": ""}, "format", ""),
        ({"format": "jsonl", "options": {"pairs": "all"}}, "options", "takes no options"),
        ({"status": "done"}, "status", ""),
        ({"include_gold": "perhaps"}, "include_gold", ""),
        ({"batch_id": 987654}, "batch_id", "not a batch of project"),
        ({"batch_id": 2**70}, "batch_id", "less than or equal"),
        ({"colour": "red"}, "colour", ""),
    ],
)
def test_bad_requests_are_422_naming_the_field_and_store_nothing(
    client: TestClient,
    factory: Factory,
    db: Database,
    body: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    org, project, _ = _project_with_answers(factory, client, n_tasks=2, answered=1)
    response = _create(client, org.key, project.id, **body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in error["message"] and fragment in error["message"]
    assert field in error["details"][0]["loc"]
    assert _stored(db) == (0, 0)


def test_bad_export_queries_are_422_and_store_nothing(
    client: TestClient, factory: Factory, db: Database
) -> None:
    org, project, _ = _project_with_answers(factory, client, n_tasks=2, answered=1)
    for params, field in [
        ({"format": "coco-ish"}, "format"),
        ({"format": "x" * 60}, "format"),
        ({"options": "{not json"}, "options"),
        ({"options": "[1, 2]"}, "options"),
        ({"format": "csv", "options": '{"delimiter": ";"}'}, "options"),
        ({"batch_id": "seven"}, "batch_id"),
        ({"batch_id": str(2**70)}, "batch_id"),
    ]:
        response = client.get(
            f"/api/projects/{project.id}/export", params=params, headers=auth(org.key)
        )
        assert response.status_code == 422, (params, response.text)
        assert field in response.json()["error"]["message"], (params, response.text)
    assert _stored(db) == (0, 0)


def test_a_snapshot_of_many_small_chunks_round_trips(
    client: TestClient, factory: Factory, db: Database
) -> None:
    org, project, _ = _project_with_answers(factory, client, n_tasks=40, answered=5)
    reference = _create(client, org.key, project.id, status="all").json()
    reference_bytes = _download(client, org.key, reference["id"])
    with db.read_session() as session:
        project_row = projects.get_project(session=session, org_id=org.id, project_id=project.id)
        spec = export.ExportSpec(project_id=project.id, task_type="categorization", status="all")
    chunked = datasets.create_snapshot(
        db=db, project=project_row, spec=spec, actor=CLI_ADMIN, chunk_bytes=97
    )
    assert chunked.n_chunks == -(-reference["byte_size"] // 97) > 30
    assert _stored(db)[1] == chunked.n_chunks + 1  # the reference fits one 1 MiB chunk
    assert chunked.sha256 == reference["sha256"] and chunked.row_count == 40
    assert _download(client, org.key, chunked.id) == reference_bytes


# -- registered formats ------------------------------------------------------------------------


class _TsvAnswers:
    """A test-only format: ``task_id<TAB>category`` per answered task; option ``upper``."""

    name: ClassVar[str] = "test-tsv-answers"
    media_type: ClassVar[str] = "text/tab-separated-values"
    file_extension: ClassVar[str] = "tsv"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"categorization"})

    def check_options(self, context: ExportContext) -> None:
        unknown = set(context.options) - {"upper"}
        if unknown:
            raise FormatError(f"options.{sorted(unknown)[0]}: unknown option")
        if not isinstance(context.options.get("upper", False), bool):
            raise FormatError("options.upper: must be true or false")

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        upper = bool(context.options.get("upper", False))
        assert context.project_params["categories"] == ["cat", "dog", "bird"]
        for record in records:
            answer = str((record.response or {}).get("category", ""))
            yield f"{record.task_id}\t{answer.upper() if upper else answer}\n".encode()


class _ForImagesOnly(_TsvAnswers):
    name: ClassVar[str] = "test-images-only"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"imageannotation"})


class _FailsOnSecondRecord(_TsvAnswers):
    name: ClassVar[str] = "test-fails-midway"

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        for index, record in enumerate(records):
            if index == 1:
                raise FormatError(f"task {record.task_id}: cannot be expressed")
            yield b"x" * 500


@pytest.fixture
def test_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers the test-only formats for one test (removed afterwards)."""
    for exporter in (_TsvAnswers(), _ForImagesOnly(), _FailsOnSecondRecord()):
        monkeypatch.setitem(registry._EXPORTERS, exporter.name, exporter)


@pytest.mark.usefixtures("test_formats")
def test_a_registered_format_exports_through_the_server(
    client: TestClient, factory: Factory
) -> None:
    org, project, _ = _project_with_answers(factory, client)
    created = _create(
        client, org.key, project.id, format="test-tsv-answers", options={"upper": True}
    )
    assert created.status_code == 201, created.text
    meta = created.json()
    assert (meta["media_type"], meta["row_count"]) == ("text/tab-separated-values", 3)
    assert meta["options"] == {"upper": True} and meta["filename"].endswith(".tsv")
    body = _download(client, org.key, meta["id"])
    assert hashlib.sha256(body).hexdigest() == meta["sha256"]
    lines = body.decode().splitlines()
    assert [line.split("\t")[1] for line in lines] == ["CAT", "DOG", "BIRD"]

    exported = client.get(
        f"/api/projects/{project.id}/export",
        params={"format": "test-tsv-answers", "options": '{"upper": false}'},
        headers=auth(org.key),
    )
    assert exported.status_code == 200
    assert exported.text.splitlines()[0].endswith("\tcat")
    assert exported.headers["content-type"].startswith("text/tab-separated-values")


@pytest.mark.usefixtures("test_formats")
def test_registered_format_errors_are_422_and_store_nothing(
    client: TestClient, factory: Factory, db: Database
) -> None:
    org, project, _ = _project_with_answers(factory, client)
    wrong_type = _create(client, org.key, project.id, format="test-images-only")
    assert wrong_type.status_code == 422
    message = wrong_type.json()["error"]["message"]
    assert message.startswith("format: 'test-images-only' cannot export 'categorization'")
    assert "csv, jsonl" in message and "test-tsv-answers" in message
    assert "test-images-only" not in message.split("projects:")[1]

    unknown = _create(client, org.key, project.id, format="nope")
    assert "test-tsv-answers" in unknown.json()["error"]["message"]

    bad_option = _create(
        client, org.key, project.id, format="test-tsv-answers", options={"upper": "yes"}
    )
    assert bad_option.status_code == 422
    assert bad_option.json()["error"]["message"] == "options.upper: must be true or false"
    assert bad_option.json()["error"]["details"][0]["loc"] == ["options"]

    midway = _create(client, org.key, project.id, format="test-fails-midway")
    assert midway.status_code == 422
    assert "cannot be expressed; nothing was stored" in midway.json()["error"]["message"]
    assert _stored(db) == (0, 0)


def test_every_registered_format_of_the_type_makes_a_verifiable_snapshot(
    client: TestClient, factory: Factory, test_formats: None
) -> None:
    """Whatever exporters are registered when this runs (the test-only one at least)."""
    org, project, _ = _project_with_answers(factory, client)
    names = export.format_names("categorization")
    assert {"jsonl", "csv", "test-tsv-answers"} <= set(names)
    for name in names:
        if name == "test-fails-midway":
            continue
        created = _create(client, org.key, project.id, format=name)
        assert created.status_code == 201, (name, created.text)
        meta = created.json()
        body = _download(client, org.key, meta["id"])
        assert (len(body), hashlib.sha256(body).hexdigest()) == (
            meta["byte_size"],
            meta["sha256"],
        ), name


def test_a_snapshot_being_built_is_listed_as_building_and_not_downloadable(
    client: TestClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exporter that looks at the project's snapshots while its own is being written (the
    server runs in this process, so it can call the API in the middle of the export)."""
    org, project, _ = _project_with_answers(factory, client)
    seen: list[tuple[str, int]] = []

    class _Peeks(_TsvAnswers):
        name: ClassVar[str] = "test-peeks"

        def render(
            self, records: Iterable[ExportRecord], context: ExportContext
        ) -> Iterator[bytes]:
            for record in records:
                listed = client.get(
                    f"/api/projects/{project.id}/datasets", headers=auth(org.key)
                ).json()["data"]
                building = listed[-1]
                download = client.get(
                    f"/api/datasets/{building['id']}/download", headers=auth(org.key)
                )
                seen.append((building["state"], download.status_code))
                yield f"{record.task_id}\n".encode()

    monkeypatch.setitem(registry._EXPORTERS, _Peeks.name, _Peeks())
    created = _create(client, org.key, project.id, format="test-peeks")
    assert created.status_code == 201, created.text
    assert seen == [("building", 409)] * 3
    assert created.json()["state"] == "ready"
    assert _download(client, org.key, created.json()["id"]) == b"".join(
        f"{task_id}\n".encode() for task_id in project.task_ids[:3]
    )
