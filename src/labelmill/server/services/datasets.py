"""Dataset snapshots: every export is written once into the database, in chunks, with its
recipe, the answers' version it saw, its size, row count and SHA-256, and can be listed and
downloaded again later, byte-identical, by any server process sharing the database.

The snapshot is complete before its first byte is served: rows are read in keyset-paged
chunks, rendered, and the file is stored in pieces of ``CHUNK_BYTES``, each in its own short
write transaction (on SQLite one long write transaction would hold the database's only write
lock for the whole export). Memory holds one row chunk and one file piece. A failure while
building removes the snapshot, so a refused or broken export leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from labelmill.formats import FormatError
from labelmill.schemas.datasets import DatasetCreate
from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.errors import Conflict, ErrorDetail, InvalidInput, NotFound
from labelmill.server.models import AnswerRevision, Batch, Dataset, DatasetChunk, Project
from labelmill.server.services import export
from labelmill.server.services.auth import Principal
from labelmill.server.services.pagination import Cursor, page_of

CHUNK_BYTES = 1 << 20
"""Size of the stored pieces of a dataset's file (the last one may be shorter)."""


def export_spec(*, session: Session, project: Project, request: DatasetCreate) -> export.ExportSpec:
    """The export ``request`` asks for, checked: ``InvalidInput`` naming ``format``,
    ``options`` or ``batch_id`` when it cannot be made. Writes nothing."""
    if request.batch_id is not None:
        batch = session.get(Batch, request.batch_id)
        if batch is None or batch.project_id != project.id:
            message = f"batch {request.batch_id} is not a batch of project {project.id}"
            raise InvalidInput(
                f"batch_id: {message}", details=[ErrorDetail(("batch_id",), message)]
            )
    spec = export.ExportSpec(
        project_id=project.id,
        task_type=project.task_type,
        format=request.format,
        status=request.status,
        include_gold=request.include_gold,
        batch_id=request.batch_id,
        options=dict(request.options),
        project_params=dict(project.params),
    )
    export.check_format(spec)
    return spec


def parse_options(raw: str | None) -> dict[str, Any]:
    """The ``options`` query parameter of the export route: a JSON object, or nothing."""
    if raw is None or raw == "":
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        message = 'must be a JSON object, e.g. {"pairs": "all"}'
        raise InvalidInput(f"options: {message}", details=[ErrorDetail(("options",), message)])
    return value


@dataclass
class _Seen:
    """What the export saw of the answers, gathered as the rows pass."""

    rows: int = 0
    max_task_id: int | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None

    def watch(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for row in rows:
            self.rows += 1
            self.max_task_id = row[export.ROW_ID]  # rows come in id order
            updated, completed = row[export.ROW_UPDATED_AT], row[export.ROW_COMPLETED_AT]
            if updated is not None and (self.updated_at is None or updated > self.updated_at):
                self.updated_at = updated
            if completed is not None and (
                self.completed_at is None or completed > self.completed_at
            ):
                self.completed_at = completed
            yield row


@dataclass
class _Stored:
    n_chunks: int = 0
    byte_size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _store(db: Database, dataset_id: int, pieces: Iterable[bytes], chunk_bytes: int) -> _Stored:
    stored = _Stored()
    buffer = bytearray()

    def flush(data: bytes) -> None:
        with db.write_session() as session:
            session.execute(
                insert(DatasetChunk),
                {"dataset_id": dataset_id, "seq": stored.n_chunks, "data": data},
            )
        stored.n_chunks += 1

    for piece in pieces:
        stored.digest.update(piece)
        stored.byte_size += len(piece)
        buffer += piece
        while len(buffer) >= chunk_bytes:
            flush(bytes(buffer[:chunk_bytes]))
            del buffer[:chunk_bytes]
    if buffer:
        flush(bytes(buffer))
    return stored


def _discard(db: Database, dataset_id: int) -> None:
    with db.write_session() as session:
        session.execute(delete(DatasetChunk).where(DatasetChunk.dataset_id == dataset_id))
        session.execute(delete(Dataset).where(Dataset.id == dataset_id))


def create_snapshot(
    *,
    db: Database,
    project: Project,
    spec: export.ExportSpec,
    actor: Principal,
    chunk_bytes: int = CHUNK_BYTES,
) -> Dataset:
    """Export ``project`` as ``spec`` says (checked by ``export_spec``) into a new, ready
    dataset snapshot, and return it."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    kind = export.check_format(spec)
    with db.write_session() as session:
        newest_revision = session.scalar(
            select(func.max(AnswerRevision.id)).where(AnswerRevision.project_id == project.id)
        )
        dataset = Dataset(
            org_id=project.org_id,
            project_id=project.id,
            state="building",
            format=spec.format,
            options=dict(spec.options),
            status_filter=spec.status,
            include_gold=spec.include_gold,
            batch_id=spec.batch_id,
            params_version=project.params_version,
            answer_revision_id=newest_revision,
            media_type=kind.media_type,
            file_extension=kind.file_extension,
            created_by_user_id=actor.user_id,
            created_by_key_id=actor.key_id,
        )
        session.add(dataset)
        session.flush()
        dataset_id = dataset.id
    seen = _Seen()
    try:
        pieces = export.render(spec, seen.watch(export.read_rows(db, spec)))
        stored = _store(db, dataset_id, pieces, chunk_bytes)
    except FormatError as exc:
        _discard(db, dataset_id)
        raise InvalidInput(
            f"format: {exc}; nothing was stored", details=[ErrorDetail(("format",), str(exc))]
        ) from None
    except BaseException:
        _discard(db, dataset_id)
        raise
    with db.write_session() as session:
        dataset = session.get_one(Dataset, dataset_id)
        dataset.state = "ready"
        dataset.row_count = seen.rows
        dataset.max_task_id = seen.max_task_id
        dataset.tasks_updated_at = seen.updated_at
        dataset.last_completed_at = seen.completed_at
        dataset.byte_size = stored.byte_size
        dataset.n_chunks = stored.n_chunks
        dataset.sha256 = stored.digest.hexdigest()
        dataset.finished_at = utcnow()
    return dataset


def get_dataset(*, session: Session, org_id: int | None, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.org_id != org_id:
        raise NotFound("Dataset", dataset_id)
    return dataset


def list_datasets(
    *, session: Session, project: Project, cursor: Cursor
) -> tuple[list[Dataset], str | None]:
    query = select(Dataset).where(Dataset.project_id == project.id)
    return page_of(session, query, Dataset.id, cursor)


def file_chunks(*, db: Database, dataset: Dataset) -> Iterator[bytes]:
    """The stored file, piece by piece, each read in its own short transaction.
    ``Conflict`` (at once, not when iterated) while the snapshot is still being built."""
    if dataset.state != "ready":
        raise Conflict(f"dataset {dataset.id} is still being built; download it once ready")
    return _read_chunks(db, dataset.id, dataset.n_chunks)


def _read_chunks(db: Database, dataset_id: int, n_chunks: int) -> Iterator[bytes]:
    query = select(DatasetChunk.data).where(DatasetChunk.dataset_id == dataset_id)
    for seq in range(n_chunks):
        with db.read_session() as session:
            data = session.scalar(query.where(DatasetChunk.seq == seq))
        if data is None:  # only if the dataset was deleted while being read
            raise RuntimeError(f"dataset {dataset_id} lost its chunk {seq}")
        yield bytes(data)
