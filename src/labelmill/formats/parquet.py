"""Parquet in and out: tasks from a Parquet file, and the ``parquet`` export (also the
Hugging Face ``datasets`` form: ``load_dataset("parquet", data_files=...)`` loads it).

Reading: one task per row, record batch by record batch (bounded memory). Columns follow
the CSV conventions (``unique_id``, ``priority``, ``tags``, ``metadata.KEY``, ``gold.KEY``,
any other column a ``params`` field; ``--column SRC=DEST`` renames first), on typed values:
lists and structs become JSON lists and objects, timestamps ISO strings; a string is never
parsed as JSON (Parquet has real types), except in the whole-object columns ``params``,
``metadata`` and ``gold_answer``, which may be structs or JSON strings. A ``tags`` column is
a list of strings (or a ``|``-separated string). Nulls are left out.

A file written by the ``parquet`` export (it has ``task_id`` and ``params`` columns) reads
back as the same tasks: the columns only an export has (``task_id``, ``batch_id``,
``status``, ``project_version``, ``response``, ``confidence``, ``n_labels``,
``completed_at``) are skipped unless ``--column`` renames them (``response=gold_answer``
makes the exported answers known answers).

Writing: one row per task with ``task_id``, ``unique_id``, ``batch_id``, ``status``,
``project_version``, ``params``, ``metadata``, ``tags``, ``response``, ``confidence``,
``n_labels``, ``completed_at``. ``params``, ``metadata`` and ``response`` are JSON strings:
their shape differs from task to task (optional fields, a box next to a polygon), and one
Arrow struct type would have to be known before the first row group is written; a string
column loads the same in every reader. ``tags`` is a list of strings, ``completed_at`` a UTC
timestamp. Rows go out in row groups of ``ROW_GROUP_ROWS``, each yielded as soon as written.

pyarrow is imported inside the functions: importing ``labelmill.formats`` (the server does)
should not pay for it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError
from labelmill.formats.task_files import Row, RowError, place_column

UNIT = "row"
ROW_GROUP_ROWS = 4096
_READ_BATCH_ROWS = 2048
EXPORT_ONLY_COLUMNS = frozenset(
    {
        "task_id",
        "batch_id",
        "status",
        "project_version",
        "response",
        "confidence",
        "n_labels",
        "completed_at",
    }
)
_OBJECT_COLUMNS = {"params": "params", "metadata": "metadata", "gold_answer": "gold_answer"}


def read_parquet(path: Path, column_map: Mapping[str, str]) -> Iterator[Row]:
    """The file's tasks as ``TaskCreate``-shaped dicts (not yet validated)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RowError(1, f"not a Parquet file ({exc})", unit=UNIT) from None
    names: list[str] = list(parquet.schema_arrow.names)
    exported = {"task_id", "params"} <= set(names)
    # Columns as the row will be placed: (file column, destination) pairs, skipped ones out.
    columns = [
        (name, column_map.get(name, name))
        for name in names
        if name in column_map or not (exported and name in EXPORT_ONLY_COLUMNS)
    ]
    total = parquet.metadata.num_rows or 1
    size = path.stat().st_size
    number = 0
    with parquet:
        for batch in parquet.iter_batches(
            batch_size=_READ_BATCH_ROWS, columns=[name for name, _ in columns]
        ):
            for record in batch.to_pylist():
                number += 1
                task = _task_of(number, columns, record)
                # Parquet compresses by column: bytes per row are an estimate, for progress.
                yield Row(number, size * number // total, task, unit=UNIT)


def _task_of(
    number: int, columns: list[tuple[str, str]], record: Mapping[str, Any]
) -> dict[str, Any]:
    task: dict[str, Any] = {"params": {}}
    for source, dest in columns:
        value = record[source]
        if value is None:
            continue
        where = f"column {source!r}"
        value = _plain(value, number, where)
        if dest in _OBJECT_COLUMNS:
            obj = _object(value, number, where)
            if dest == "gold_answer":
                task["gold_answer"] = {**obj, **task.get("gold_answer", {})}
            else:
                # A whole-object column and per-field columns may both be given: fields win.
                task[dest] = {**obj, **task.get(dest, {})}
        elif dest == "tags":
            if isinstance(value, str):
                value = [tag for tag in value.split("|") if tag]
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise RowError(number, f"{where}: tags must be a list of strings", unit=UNIT)
            place_column(task, dest, value)
        elif dest == "unique_id":
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise RowError(number, f"{where}: unique_id must be a string", unit=UNIT)
            place_column(task, dest, str(value))
        elif dest == "priority":
            if isinstance(value, bool) or not isinstance(value, int):
                raise RowError(number, f"{where}: priority {value!r} is not an integer", unit=UNIT)
            place_column(task, dest, value)
        elif dest.startswith("params."):
            task["params"][dest.removeprefix("params.")] = value
        else:
            place_column(task, dest, value)
    return task


def _object(value: Any, number: int, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise RowError(number, f"{where}: not valid JSON ({exc})", unit=UNIT) from None
    if not isinstance(value, dict):
        raise RowError(number, f"{where}: expected an object (a struct or JSON text)", unit=UNIT)
    return value


def _plain(value: Any, number: int, where: str) -> Any:
    """A JSON-able copy of one Arrow value (as ``to_pylist`` gives it)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v, number, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # A map column arrives as a list of (key, value) pairs.
        return [_plain(v, number, where) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray):
        raise RowError(
            number,
            f"{where}: binary data cannot be a task field (store a URL or text instead)",
            unit=UNIT,
        )
    raise RowError(number, f"{where}: a {type(value).__name__} cannot be a task field", unit=UNIT)


# -- export ------------------------------------------------------------------------------------


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("task_id", pa.int64()),
            ("unique_id", pa.string()),
            ("batch_id", pa.int64()),
            ("status", pa.string()),
            ("project_version", pa.int64()),
            ("params", pa.string()),
            ("metadata", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("response", pa.string()),
            ("confidence", pa.float64()),
            ("n_labels", pa.int64()),
            ("completed_at", pa.timestamp("us", tz="UTC")),
        ],
        metadata={b"labelmill": b'{"format": "parquet", "version": 1}'},
    )


class _Sink(io.RawIOBase):
    """A write-only file that hands out what was written since the last ``take``: the
    Parquet writer writes into it, the exporter yields each row group's bytes at once."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # stored naive by SQLite: the server writes UTC


class ParquetExporter:
    name: ClassVar[str] = "parquet"
    media_type: ClassVar[str] = "application/vnd.apache.parquet"
    file_extension: ClassVar[str] = "parquet"
    task_types: ClassVar[frozenset[str] | None] = None

    def check_options(self, context: ExportContext) -> None:
        if context.options:
            raise FormatError(
                f"options: the parquet format takes none (got {', '.join(context.options)})"
            )

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _schema()
        sink = _Sink()
        writer = pq.ParquetWriter(sink, schema, compression="zstd")
        try:
            group: list[ExportRecord] = []
            for record in records:
                group.append(record)
                if len(group) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_pydict(_columns(group), schema=schema))
                    group = []
                    yield sink.take()
            if group:
                writer.write_table(pa.Table.from_pydict(_columns(group), schema=schema))
        finally:
            writer.close()
        yield sink.take()


def _columns(group: list[ExportRecord]) -> dict[str, list[Any]]:
    return {
        "task_id": [r.task_id for r in group],
        "unique_id": [r.unique_id for r in group],
        "batch_id": [r.batch_id for r in group],
        "status": [r.status for r in group],
        "project_version": [r.project_version for r in group],
        "params": [_json(r.params) for r in group],
        "metadata": [_json(r.metadata) for r in group],
        "tags": [list(r.tags) for r in group],
        "response": [_json(r.response) for r in group],
        "confidence": [r.confidence for r in group],
        "n_labels": [r.n_labels for r in group],
        "completed_at": [_utc(r.completed_at) for r in group],
    }
