"""Streaming export of a project's results as JSONL or CSV, in bounded memory.

Rows are read in keyset-paged chunks (each its own short read transaction), so memory stays
flat however large the project, and no long transaction pins the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Text, cast, select

from labelmill.server.db.engine import Database
from labelmill.server.models import Task
from labelmill.server.services.projects import task_type_of

ExportFormat = Literal["jsonl", "csv"]
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
)
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
    format: ExportFormat = "jsonl"
    status: Literal["completed", "all"] = "completed"
    include_gold: bool = False


def _rows(db: Database, spec: ExportSpec) -> Iterator[Sequence[Any]]:
    """The project's rows in id order, one short read transaction per chunk."""
    after = 0
    while True:
        query = select(*_COLUMNS).where(Task.project_id == spec.project_id, Task.id > after)
        if spec.status == "completed":
            query = query.where(Task.status == "completed")
        if not spec.include_gold:
            query = query.where(Task.is_gold.is_(False))
        with db.read_session() as session:
            chunk = session.execute(query.order_by(Task.id).limit(_CHUNK)).all()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1][0]


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


def stream(db: Database, spec: ExportSpec) -> Iterator[bytes]:
    rows = _rows(db, spec)
    return _jsonl(rows) if spec.format == "jsonl" else _csv(rows, spec.task_type)
