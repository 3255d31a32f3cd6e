"""Reading task files for import, one row at a time (bounded memory).

Every reader yields ``Row``s: a ``TaskCreate``-shaped dict (not yet validated) and where it
came from, so a bad row is named by the caller. A row that cannot be read at all raises
``RowError`` naming it; the import then sends nothing.

* JSONL: one ``TaskCreate`` object per line (``params``, ``unique_id``, ``metadata``, ``tags``,
  ``priority``, ``gold_answer``); blank lines are skipped.
* CSV: a header row, then one task per row. Columns become ``params`` fields, except
  ``unique_id``, ``priority``, ``tags`` (``|``-separated), ``metadata.KEY`` and ``gold.KEY``
  (the known answer of a gold task). ``--column SRC=DEST`` renames a column first (e.g.
  ``text=attachment``, ``label=gold.category``). Empty cells are left out; a cell that starts
  with ``[`` or ``{`` is read as JSON (e.g. a task's own ``categories``).
* Parquet (``labelmill.formats.parquet``): one task per row, the CSV column conventions on
  typed values.
* Label Studio JSON exports (``labelmill.formats.label_studio``): one task per element.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

FileFormat = Literal["jsonl", "csv", "parquet", "label-studio"]
FILE_FORMATS: tuple[FileFormat, ...] = ("jsonl", "csv", "parquet", "label-studio")
AnswerMode = Literal["gold", "skip"]
ROW_UNITS: dict[FileFormat, str] = {
    "jsonl": "line",
    "csv": "line",
    "parquet": "row",
    "label-studio": "task",
}
"""What each format's row numbers count, as errors name them."""


class RowError(ValueError):
    """A row that cannot be read; ``line`` is its 1-based number in the file (a line of a
    JSONL or CSV file, a record of a Parquet file, an element of a JSON list), ``unit`` says
    which."""

    def __init__(self, line: int, message: str, *, unit: str = "line") -> None:
        super().__init__(f"{unit} {line}: {message}")
        self.line = line
        self.unit = unit
        self.message = message


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    """1-based number of the row in the file (where it starts, for text files)."""
    end_offset: int
    """Bytes of the file read once this row is consumed (for progress; Parquet: estimated)."""
    task: dict[str, Any]
    unit: str = "line"
    """What ``line`` counts: ``line`` (JSONL, CSV), ``row`` (Parquet), ``task`` (a JSON list)."""
    ref: str | None = field(default=None)
    """The row's own id in its source, when it has one (a Label Studio task id)."""

    @property
    def where(self) -> str:
        """``line 12``, ``row 3``, ``task 2 (Label Studio id 8812)``: how errors name the row."""
        return f"{self.unit} {self.line}" + (f" ({self.ref})" if self.ref else "")


def guess_format(path: Path) -> FileFormat:
    """The format from the file name; a ``.json``/``.jsonl`` file whose first character is
    ``[`` is a JSON list (a Label Studio export), never a JSONL file (a JSONL line is a task
    object)."""
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "label-studio" if _starts_a_list(path) else "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise ValueError(
        f"cannot tell the format of {path.name!r}; pass --format " + "|".join(FILE_FORMATS)
    )


def _starts_a_list(path: Path) -> bool:
    with path.open("rb") as raw:
        head = raw.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] == b"["


def parse_column_map(pairs: tuple[str, ...], option: str = "--column") -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, dest = pair.partition("=")
        if not sep or not source or not dest:
            raise ValueError(f"{option} {pair!r}: expected SOURCE=DEST")
        mapping[source] = dest
    return mapping


def read_rows(
    path: Path, file_format: FileFormat, column_map: Mapping[str, str] | None = None
) -> Iterator[Row]:
    """The tasks of a JSONL, CSV or Parquet file as ``TaskCreate``-shaped dicts (not yet
    validated). Label Studio files need the project's type: see
    ``labelmill.formats.label_studio.read_label_studio``."""
    if file_format == "parquet":
        # Imported here: pyarrow takes a noticeable time to import, and JSONL/CSV imports
        # (and the server, which imports ``labelmill.formats``) never need it.
        from labelmill.formats.parquet import read_parquet

        yield from read_parquet(path, column_map or {})
        return
    if file_format == "label-studio":
        raise ValueError("Label Studio files are read with read_label_studio (needs a task type)")
    with path.open("rb") as raw:
        if file_format == "jsonl":
            yield from _jsonl_rows(raw)
        else:
            yield from _csv_rows(
                raw, column_map or {}, delimiter="\t" if path.suffix == ".tsv" else ","
            )


def _jsonl_rows(raw: BinaryIO) -> Iterator[Row]:
    offset = 0
    for number, line in enumerate(raw, start=1):
        offset += len(line)
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise RowError(number, f"not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise RowError(number, "expected a JSON object (a task)")
        yield Row(line=number, end_offset=offset, task=value)


class CountingReader(io.RawIOBase):
    """Counts the bytes a buffered or text layer has pulled, for a progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _csv_rows(raw: BinaryIO, column_map: Mapping[str, str], *, delimiter: str) -> Iterator[Row]:
    counter = CountingReader(raw)
    text = io.TextIOWrapper(
        io.BufferedReader(counter, buffer_size=1 << 16), encoding="utf-8-sig", newline=""
    )
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RowError(1, str(exc)) from None
    columns = [column_map.get(name.strip(), name.strip()) for name in header]
    line = reader.line_num + 1
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                line = reader.line_num + 1
                continue
            if len(cells) != len(columns):
                raise RowError(line, f"{len(cells)} cells for {len(columns)} columns")
            yield Row(line=line, end_offset=counter.consumed, task=_task_of(line, columns, cells))
            line = reader.line_num + 1
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RowError(line, str(exc)) from None


def _cell(line: int, column: str, cell: str) -> Any:
    if cell[:1] in {"[", "{"}:
        try:
            return orjson.loads(cell)
        except orjson.JSONDecodeError as exc:
            raise RowError(line, f"column {column!r}: not valid JSON ({exc})") from None
    return cell


def _task_of(line: int, columns: list[str], cells: list[str]) -> dict[str, Any]:
    task: dict[str, Any] = {"params": {}}
    for column, cell in zip(columns, cells, strict=True):
        if cell == "":
            continue
        if column == "priority":
            try:
                place_column(task, column, int(cell))
            except ValueError:
                raise RowError(line, f"priority {cell!r} is not an integer") from None
        elif column == "tags":
            place_column(task, column, [tag for tag in cell.split("|") if tag])
        elif column == "unique_id":
            place_column(task, column, cell)
        else:
            place_column(task, column, _cell(line, column, cell))
    return task


def place_column(task: dict[str, Any], column: str, value: Any) -> None:
    """Put one column's (already typed) value where the column conventions say: the task's
    own fields, ``metadata.KEY``, ``gold.KEY``, or else a ``params`` field."""
    if column in {"unique_id", "priority", "tags"}:
        task[column] = value
    elif column.startswith("metadata."):
        task.setdefault("metadata", {})[column.removeprefix("metadata.")] = value
    elif column.startswith("gold."):
        task.setdefault("gold_answer", {})[column.removeprefix("gold.")] = value
    else:
        task.setdefault("params", {})[column] = value
