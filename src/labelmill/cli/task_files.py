"""Reading task files for ``labelmill import``, one row at a time (bounded memory).

* JSONL: one ``TaskCreate`` object per line (``params``, ``unique_id``, ``metadata``, ``tags``,
  ``priority``, ``gold_answer``); blank lines are skipped.
* CSV: a header row, then one task per row. Columns become ``params`` fields, except
  ``unique_id``, ``priority``, ``tags`` (``|``-separated), ``metadata.KEY`` and ``gold.KEY``
  (the known answer of a gold task). ``--column SRC=DEST`` renames a column first (e.g.
  ``text=attachment``, ``label=gold.category``). Empty cells are left out; a cell that starts
  with ``[`` or ``{`` is read as JSON (e.g. a task's own ``categories``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

FileFormat = Literal["jsonl", "csv"]


class RowError(ValueError):
    """A row that cannot be read; ``line`` is 1-based in the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    """1-based line where the row starts."""
    end_offset: int
    """Bytes of the file read once this row is consumed (for progress)."""
    task: dict[str, Any]


def guess_format(path: Path) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    raise ValueError(f"cannot tell the format of {path.name!r}; pass --format jsonl or csv")


def parse_column_map(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, dest = pair.partition("=")
        if not sep or not source or not dest:
            raise ValueError(f"--column {pair!r}: expected SOURCE=DEST")
        mapping[source] = dest
    return mapping


def read_rows(
    path: Path, file_format: FileFormat, column_map: Mapping[str, str] | None = None
) -> Iterator[Row]:
    """The file's tasks as ``TaskCreate``-shaped dicts (not yet validated)."""
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


class _CountingReader(io.RawIOBase):
    """Counts the bytes the text layer has pulled, for a progress bar over a CSV file."""

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
    counter = _CountingReader(raw)
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
        if column == "unique_id":
            task["unique_id"] = cell
        elif column == "priority":
            try:
                task["priority"] = int(cell)
            except ValueError:
                raise RowError(line, f"priority {cell!r} is not an integer") from None
        elif column == "tags":
            task["tags"] = [tag for tag in cell.split("|") if tag]
        elif column.startswith("metadata."):
            task.setdefault("metadata", {})[column.removeprefix("metadata.")] = _cell(
                line, column, cell
            )
        elif column.startswith("gold."):
            task.setdefault("gold_answer", {})[column.removeprefix("gold.")] = _cell(
                line, column, cell
            )
        else:
            task["params"][column] = _cell(line, column, cell)
    return task
