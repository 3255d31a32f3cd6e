"""Streaming export of a project's results, in bounded memory: JSONL and CSV here (fast paths
that splice the stored JSON text unparsed), every other format through the exporters of
``labelmill.formats`` (records parsed from the same rows).

Rows are read in keyset-paged chunks (each its own short read transaction), so memory stays
flat however large the project, and no long transaction pins the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import Text, cast, select

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for, exporter_names
from labelmill.server.db.engine import Database
from labelmill.server.errors import ErrorDetail, InvalidInput
from labelmill.server.models import Task
from labelmill.server.services.projects import task_type_of

ExportStatus = Literal["completed", "all"]
FAST_FORMATS: dict[str, tuple[str, str]] = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "csv": ("text/csv", "csv"),
}
"""Formats rendered here, straight from the stored JSON text: name → (media type, extension).
They take precedence over a registered exporter of the same name."""
_CHUNK = 5000
# JSON columns are read as text and spliced into the output unparsed (``orjson.Fragment``):
# parsing and re-serialising them was most of an export's time.
_COLUMNS = (
    Task.id,
    Task.unique_id,
    Task.batch_id,
    Task.status,
    Task.project_version,
    cast(Task.params, Text),
    cast(Task.meta, Text),
    cast(Task.tags, Text),
    cast(Task.response, Text),
    Task.confidence,
    Task.n_annotations,
    Task.completed_at,
    Task.updated_at,
)
# Positions in a row of ``read_rows`` that the dataset snapshot watches.
ROW_ID, ROW_COMPLETED_AT, ROW_UPDATED_AT = 0, 11, 12
BASE_FIELDS = [
    "task_id",
    "unique_id",
    "batch_id",
    "status",
    "project_version",
    "params",
    "metadata",
    "tags",
    "response",
    "confidence",
    "n_labels",
    "completed_at",
]


@dataclass(frozen=True, slots=True)
class ExportSpec:
    project_id: int
    task_type: str
    format: str = "jsonl"
    status: ExportStatus = "completed"
    include_gold: bool = False
    batch_id: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    """The format's own options (registered exporters only)."""
    project_params: Mapping[str, Any] = field(default_factory=dict)
    """The project's current params, given to registered exporters (taxonomy, ontology…)."""


@dataclass(frozen=True, slots=True)
class FileKind:
    media_type: str
    file_extension: str


def format_names(task_type: str) -> list[str]:
    """Every format a project of ``task_type`` can be exported as."""
    return sorted({*FAST_FORMATS, *exporter_names(task_type)})


def _context(spec: ExportSpec) -> ExportContext:
    return ExportContext(
        task_type=spec.task_type, project_params=spec.project_params, options=dict(spec.options)
    )


def check_format(spec: ExportSpec) -> FileKind:
    """The file ``spec`` will produce; ``InvalidInput`` naming ``format`` or ``options`` if the
    format is unknown, cannot express the project's type, or refuses the options. Reads
    nothing, so a refused export has written nothing."""
    fast = FAST_FORMATS.get(spec.format)
    if fast is not None:
        if spec.options:
            first = sorted(spec.options)[0]
            raise InvalidInput(
                f"options.{first}: the {spec.format} export takes no options",
                details=[ErrorDetail(("options", first), f"{spec.format} takes no options")],
            )
        return FileKind(*fast)
    valid = ", ".join(format_names(spec.task_type))
    try:
        exporter = exporter_for(spec.format, spec.task_type)
    except FormatError:
        why = (
            f"{spec.format!r} cannot export {spec.task_type!r} tasks"
            if spec.format in exporter_names()
            else f"unknown export format {spec.format!r}"
        )
        message = f"{why}; formats for {spec.task_type} projects: {valid}"
        raise InvalidInput(
            f"format: {message}", details=[ErrorDetail(("format",), message)]
        ) from None
    try:
        exporter.check_options(_context(spec))
    except FormatError as exc:
        message = str(exc)
        where = message if message.startswith("options") else f"options: {message}"
        raise InvalidInput(where, details=[ErrorDetail(("options",), message)]) from None
    return FileKind(exporter.media_type, exporter.file_extension)


def read_rows(db: Database, spec: ExportSpec) -> Iterator[Sequence[Any]]:
    """The project's rows in id order, one short read transaction per chunk."""
    after = 0
    while True:
        query = select(*_COLUMNS).where(Task.project_id == spec.project_id, Task.id > after)
        if spec.status == "completed":
            query = query.where(Task.status == "completed")
        if not spec.include_gold:
            query = query.where(Task.is_gold.is_(False))
        if spec.batch_id is not None:
            query = query.where(Task.batch_id == spec.batch_id)
        with db.read_session() as session:
            chunk = session.execute(query.order_by(Task.id).limit(_CHUNK)).all()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1][0]


def _loads(json_text: str | None) -> Any:
    return None if json_text is None else orjson.loads(json_text)


def _records(rows: Iterator[Sequence[Any]]) -> Iterator[ExportRecord]:
    for row in rows:
        yield ExportRecord(
            task_id=row[0],
            unique_id=row[1],
            batch_id=row[2],
            status=row[3],
            project_version=row[4],
            params=orjson.loads(row[5]),
            metadata=_loads(row[6]) or {},
            tags=_loads(row[7]) or [],
            response=_loads(row[8]),
            confidence=row[9],
            n_labels=row[10],
            completed_at=row[11],
        )


def _fragment(json_text: str | None) -> orjson.Fragment | None:
    return None if json_text is None else orjson.Fragment(json_text)


def _jsonl(rows: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    buffer = bytearray()
    for row in rows:
        buffer += orjson.dumps(
            {
                "task_id": row[0],
                "unique_id": row[1],
                "batch_id": row[2],
                "status": row[3],
                "project_version": row[4],
                "params": _fragment(row[5]),
                "metadata": _fragment(row[6]),
                "tags": _fragment(row[7]),
                "response": _fragment(row[8]),
                "confidence": row[9],
                "n_labels": row[10],
                "completed_at": row[11].isoformat() if row[11] else None,
            }
        )
        buffer += b"\n"
        if len(buffer) >= 1 << 16:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _csv(rows: Iterator[Sequence[Any]], task_type_name: str) -> Iterator[bytes]:
    task_type = task_type_of(task_type_name)
    answer_fields = list(task_type.flat_answer(None))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([f for f in BASE_FIELDS if f != "response"] + answer_fields)
    for row in rows:
        tags = orjson.loads(row[7]) if row[7] else []
        response = orjson.loads(row[8]) if row[8] else None
        writer.writerow(
            [
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                "|".join(tags),
                row[9],
                row[10],
                row[11].isoformat() if row[11] else None,
                *task_type.flat_answer(response).values(),
            ]
        )
        if text.tell() >= 1 << 16:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    if text.tell():
        yield text.getvalue().encode()


def render(spec: ExportSpec, rows: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    """The file's bytes from ``rows`` (as ``read_rows`` yields them), in chunks. Call
    ``check_format`` first; a registered exporter may still raise ``FormatError`` on a record
    it cannot express."""
    if spec.format == "jsonl":
        return _jsonl(rows)
    if spec.format == "csv":
        return _csv(rows, spec.task_type)
    exporter = exporter_for(spec.format, spec.task_type)
    return exporter.render(_records(rows), _context(spec))


def stream(db: Database, spec: ExportSpec) -> Iterator[bytes]:
    check_format(spec)
    return render(spec, read_rows(db, spec))
