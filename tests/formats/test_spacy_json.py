"""spaCy-compatible JSONL of text spans: the shape spaCy's docs build a DocBin from."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.spacy_json import SpacyExample, read_spacy

PROJECT = {"labels": ["PER", "LOC"], "relations": ["met"], "allow_overlap": True}


def _record(task_id: int, text: str, response: dict[str, Any] | None) -> ExportRecord:
    return ExportRecord(
        task_id=task_id,
        unique_id=None,
        batch_id=1,
        status="completed" if response is not None else "pending",
        project_version=1,
        params={"text": text},
        metadata={},
        tags=[],
        response=response,
        confidence=None,
        n_labels=2,
        completed_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )


def _export(records: list[ExportRecord], **options: Any) -> bytes:
    context = ExportContext("text_spans", PROJECT, options)
    exporter = exporter_for("spacy", "text_spans")
    exporter.check_options(context)
    return b"".join(exporter.render(iter(records), context))


RESPONSE = {
    "spans": [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 4, "end": 12, "label": "PER"},  # overlap, allowed by the project
        {"start": 26, "end": 31, "label": "LOC"},
    ],
    "relations": [{"from": 0, "to": 2, "label": "met"}],
}
TEXT = "Ada Lovelace travelled to Paris."


def test_rows_are_text_and_entities_and_round_trip() -> None:
    data = _export([_record(1, TEXT, RESPONSE), _record(2, "unanswered", None)])
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert rows == [
        {"text": TEXT, "entities": [[0, 12, "PER"], [4, 12, "PER"], [26, 31, "LOC"]]},
    ]
    assert list(read_spacy([data[:9], data[9:]])) == [
        SpacyExample(TEXT, [(s["start"], s["end"], s["label"]) for s in RESPONSE["spans"]])
    ]


def test_options_are_refused_and_bad_rows_named() -> None:
    with pytest.raises(FormatError, match="options"):
        _export([], tokens=True)
    with pytest.raises(FormatError, match="line 2: entities"):
        list(
            read_spacy(
                [b'{"text": "ab", "entities": []}\n{"text": "ab", "entities": [[0, 3, "X"]]}\n']
            )
        )
    with pytest.raises(FormatError, match="line 1"):
        list(read_spacy([b'{"text": "ab"}\n']))
