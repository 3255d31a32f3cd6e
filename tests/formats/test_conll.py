"""CoNLL BIO export of text spans: tokens and tags, round trip back to the spans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.conll import ConllSentence, read_conll, spans_from_tags

PROJECT = {"labels": ["PER", "ORG", "LOC"], "relations": [], "allow_overlap": False}


def _record(task_id: int, text: str, spans: list[dict[str, Any]] | None) -> ExportRecord:
    return ExportRecord(
        task_id=task_id,
        unique_id=None,
        batch_id=1,
        status="completed" if spans is not None else "pending",
        project_version=1,
        params={"text": text},
        metadata={},
        tags=[],
        response=None if spans is None else {"spans": spans, "relations": []},
        confidence=None,
        n_labels=2,
        completed_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )


def _export(records: list[ExportRecord], **options: Any) -> bytes:
    context = ExportContext("text_spans", PROJECT, options)
    exporter = exporter_for("conll", "text_spans")
    exporter.check_options(context)
    return b"".join(exporter.render(iter(records), context))


def _span(start: int, end: int, label: str) -> Mapping[str, Any]:
    return {"start": start, "end": end, "label": label}


TEXTS = [
    "Ada Lovelace joined Acme Corp in Paris.",
    "In  Lima,\nGrace Hopper spoke.",
    "Nothing to see here.",
]
SPANS = [
    [_span(0, 12, "PER"), _span(20, 29, "ORG"), _span(33, 38, "LOC")],
    [_span(4, 8, "LOC"), _span(10, 22, "PER")],
    [],
]


def test_tokens_get_bio_tags_and_tasks_are_separated_by_a_blank_line() -> None:
    data = _export([_record(1, TEXTS[0], SPANS[0]), _record(2, "x", None)])
    assert data.decode() == (
        "# id = 1\nAda B-PER\nLovelace I-PER\njoined O\nAcme B-ORG\nCorp I-ORG\nin O\n"
        "Paris B-LOC\n. O\n"
    )
    two = _export([_record(1, "Ada", [_span(0, 3, "PER")]), _record(2, "Bo", [])], separator="tab")
    assert two.decode() == "# id = 1\nAda\tB-PER\n\n# id = 2\nBo\tO\n"


def test_round_trip_gives_the_same_spans() -> None:
    records = [_record(k + 10, t, s) for k, (t, s) in enumerate(zip(TEXTS, SPANS, strict=True))]
    data = _export(records)
    # Read back whatever the chunking of the bytes.
    sentences = list(read_conll(data[i : i + 5] for i in range(0, len(data), 5)))
    assert [s.task_id for s in sentences] == [10, 11, 12]
    for sentence, text, spans in zip(sentences, TEXTS, SPANS, strict=True):
        assert spans_from_tags(text, sentence) == spans


def test_adjacent_spans_of_one_label_stay_two_and_partial_tokens_widen() -> None:
    spans = [_span(0, 3, "PER"), _span(4, 7, "PER")]
    [sentence] = read_conll([_export([_record(1, "Ann Bob x", spans)])])
    assert sentence.tags == ["B-PER", "B-PER", "O"]
    [partial] = read_conll([_export([_record(2, "Lovelace's", [_span(2, 6, "PER")])])])
    assert partial.tokens == ["Lovelace", "'", "s"] and partial.tags == ["B-PER", "O", "O"]
    assert spans_from_tags("Lovelace's", partial) == [_span(0, 8, "PER")]


def test_bad_option_and_bad_line_are_named() -> None:
    with pytest.raises(FormatError, match="separator"):
        _export([], separator="comma")
    with pytest.raises(FormatError, match="options"):
        _export([], scheme="BILOU")
    with pytest.raises(FormatError, match="line 2"):
        list(read_conll([b"Ada B-PER\nLovelace X-PER\n"]))


def test_reader_without_comments() -> None:
    assert list(read_conll([b"Ada B-PER\nran O\n\n\nBo B-LOC\n"])) == [
        ConllSentence(None, ["Ada", "ran"], ["B-PER", "O"]),
        ConllSentence(None, ["Bo"], ["B-LOC"]),
    ]


def test_whitespace_in_a_label_becomes_an_underscore() -> None:
    data = _export([_record(1, "Ada ran", [_span(0, 3, "PERSON  NAME")])])
    assert data.decode() == "# id = 1\nAda B-PERSON_NAME\nran O\n"
    [sentence] = read_conll([data])
    assert spans_from_tags("Ada ran", sentence) == [_span(0, 3, "PERSON_NAME")]


def test_reader_names_a_line_that_is_not_utf8() -> None:
    with pytest.raises(FormatError, match="line 2: not UTF-8"):
        list(read_conll([b"Ada B-PER\n\xff O\n"]))
