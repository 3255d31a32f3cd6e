"""spaCy-compatible JSON of text spans: JSONL, one ``{"text", "entities": [[start, end,
label], ...]}`` per answered task, character offsets end exclusive.

This is the shape of spaCy's own training examples (``(text, {"entities": [...]})``), from
which a ``DocBin`` is built as spaCy's docs show::

    doc = nlp.make_doc(row["text"])
    spans = [doc.char_span(s, e, label=l, alignment_mode="expand") for s, e, l in row["entities"]]
    doc.ents = spans
    doc_bin.add(doc)

Entities are sorted by offset. Overlapping spans (``allow_overlap``) are written as given;
``doc.ents`` refuses overlaps, so such data goes into ``doc.spans[key]`` instead. Tasks
without an answer are left out. ``read_spacy`` reads a file back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError


class SpacyJsonExporter:
    name: ClassVar[str] = "spacy"
    media_type: ClassVar[str] = "application/x-ndjson"
    file_extension: ClassVar[str] = "jsonl"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"text_spans"})

    def check_options(self, context: ExportContext) -> None:
        if context.options:
            raise FormatError(
                f"options: spacy takes none; not {', '.join(sorted(context.options))}"
            )

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        self.check_options(context)
        for record in records:
            if record.response is None:
                continue
            entities = sorted(
                [int(s["start"]), int(s["end"]), str(s["label"])]
                for s in record.response.get("spans", [])
            )
            row = {"text": str(record.params.get("text", "")), "entities": entities}
            yield orjson.dumps(row) + b"\n"


@dataclass(frozen=True, slots=True)
class SpacyExample:
    text: str
    entities: list[tuple[int, int, str]]


def _entity(number: int, value: Any, length: int) -> tuple[int, int, str]:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2])
        or not isinstance(value[2], str)
    ):
        raise FormatError(f"line {number}: entities: each is [start, end, label]")
    start, end, label = value
    if not 0 <= start < end <= length:
        raise FormatError(f"line {number}: entities: [{start}, {end}] is not inside the text")
    return start, end, label


def read_spacy(chunks: Iterable[bytes]) -> Iterator[SpacyExample]:
    """Each row of a ``spacy`` file, its entities checked to lie inside its text."""
    buffer = b""
    number = 0

    def parse(line: bytes) -> SpacyExample:
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(row, dict) or set(row) != {"text", "entities"}:
            raise FormatError(f"line {number}: a row is an object with text and entities")
        text, entities = row["text"], row["entities"]
        if not isinstance(text, str) or not isinstance(entities, list):
            raise FormatError(f"line {number}: text is a string, entities a list")
        return SpacyExample(text, [_entity(number, e, len(text)) for e in entities])

    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            number += 1
            if line.strip():
                yield parse(line)
    if buffer.strip():
        number += 1
        yield parse(buffer)
