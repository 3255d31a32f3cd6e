"""TRL exports: SFT ``messages`` from text collection, DPO ``prompt/chosen/rejected`` from
pairwise comparisons and rankings; exact columns, round trips, option errors."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.trl import DpoExample, SftExample, read_dpo, read_sft

WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
SFT_PROJECT = {
    "fields": [
        {"name": "prompt", "type": "text"},
        {"name": "response", "type": "text"},
        {"name": "language", "type": "choice", "choices": ["en", "fr"]},
    ]
}


def _record(
    task_id: int, params: Mapping[str, Any], response: Mapping[str, Any] | None
) -> ExportRecord:
    return ExportRecord(
        task_id=task_id,
        unique_id=None,
        batch_id=1,
        status="completed" if response is not None else "pending",
        project_version=1,
        params=params,
        metadata={},
        tags=[],
        response=response,
        confidence=0.9 if response is not None else None,
        n_labels=2,
        completed_at=WHEN if response is not None else None,
    )


def _export(
    fmt: str,
    task_type: str,
    records: list[ExportRecord],
    project: Mapping[str, Any],
    **options: Any,
) -> bytes:
    context = ExportContext(task_type, project, options)
    exporter = exporter_for(fmt, task_type)
    exporter.check_options(context)
    return b"".join(exporter.render(iter(records), context))


def _rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


# -- SFT --------------------------------------------------------------------------------------

SFT_RECORDS = [
    _record(1, {}, {"fields": {"prompt": "Say hi", "response": "Hi!", "language": "en"}}),
    _record(2, {}, None),  # not answered yet
    _record(3, {}, {"fields": {"prompt": "Dis bonjour", "response": "Bonjour", "language": "fr"}}),
]


def test_sft_rows_have_exactly_the_messages_column_and_round_trip() -> None:
    data = _export("trl-sft", "text_collection", SFT_RECORDS, SFT_PROJECT)
    rows = _rows(data)
    assert [set(row) for row in rows] == [{"messages"}, {"messages"}]
    assert rows[0]["messages"] == [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "Hi!"},
    ]
    # Read back whatever the chunking of the bytes.
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert list(read_sft(chunks)) == [
        SftExample("Say hi", "Hi!"),
        SftExample("Dis bonjour", "Bonjour"),
    ]


def test_sft_prompt_from_the_task_param_and_a_named_completion_field() -> None:
    project = {"fields": [{"name": "answer", "type": "text"}, {"name": "notes", "type": "text"}]}
    records = [
        _record(1, {"prompt": "2+2?"}, {"fields": {"answer": "4", "notes": "easy"}}),
        _record(2, {}, {"fields": {"answer": "no prompt", "notes": ""}}),  # nothing to prompt
    ]
    data = _export("trl-sft", "text_collection", records, project, completion_field="answer")
    assert list(read_sft([data])) == [SftExample("2+2?", "4")]
    explicit = _export(
        "trl-sft",
        "text_collection",
        records[:1],
        project,
        prompt_field="notes",
        completion_field="answer",
    )
    assert list(read_sft([explicit])) == [SftExample("easy", "4")]


@pytest.mark.parametrize(
    ("project", "options", "option"),
    [
        (SFT_PROJECT, {"prompt_field": "language"}, "prompt_field"),
        (SFT_PROJECT, {"prompt_field": "nope"}, "prompt_field"),
        (SFT_PROJECT, {"completion_field": "language"}, "completion_field"),
        (SFT_PROJECT, {"completion_field": "prompt"}, "completion_field"),
        (
            {"fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]},
            {},
            "completion_field",
        ),
        (SFT_PROJECT, {"system": "be nice"}, "options"),
    ],
)
def test_sft_option_errors_name_the_option(
    project: Mapping[str, Any], options: Mapping[str, Any], option: str
) -> None:
    with pytest.raises(FormatError) as excinfo:
        exporter_for("trl-sft", "text_collection").check_options(
            ExportContext("text_collection", project, options)
        )
    assert str(excinfo.value).startswith(f"{option}:")


# -- DPO --------------------------------------------------------------------------------------

PAIR = {"prompt": "Say hi", "response_a": "Hi!", "response_b": "Go away."}


def test_dpo_from_pairwise_skips_ties_and_both_bad() -> None:
    records = [
        _record(1, PAIR, {"choice": "a", "criteria": {}}),
        _record(2, PAIR, {"choice": "b", "criteria": {}}),
        _record(3, PAIR, {"choice": "tie", "criteria": {}}),
        _record(4, PAIR, {"choice": "both_bad", "criteria": {}}),
        _record(5, PAIR, None),
    ]
    data = _export("trl-dpo", "pairwise_comparison", records, {})
    rows = _rows(data)
    assert [set(row) for row in rows] == [{"prompt", "chosen", "rejected"}] * 2
    assert list(read_dpo([data])) == [
        DpoExample("Say hi", "Hi!", "Go away."),
        DpoExample("Say hi", "Go away.", "Hi!"),
    ]


def test_dpo_conversational_rows_and_messages_prompts() -> None:
    chat = {
        **PAIR,
        "messages": [{"role": "system", "content": "Be kind"}, {"role": "user", "content": "Hey"}],
    }
    del chat["prompt"]
    records = [_record(1, chat, {"choice": "a", "criteria": {}})]
    data = _export("trl-dpo", "pairwise_comparison", records, {}, conversational=True)
    assert _rows(data) == [
        {
            "prompt": chat["messages"],
            "chosen": [{"role": "assistant", "content": "Hi!"}],
            "rejected": [{"role": "assistant", "content": "Go away."}],
        }
    ]
    assert list(read_dpo([data]))[0].prompt == chat["messages"]
    with pytest.raises(FormatError, match="task 1: .*conversational=true"):
        _export("trl-dpo", "pairwise_comparison", records, {})


RANKED = {"prompt": "Best?", "responses": ["r0", "r1", "r2", "r3"]}


def test_dpo_from_rankings_best_worst_and_all_pairs() -> None:
    records = [
        _record(1, RANKED, {"ranking": [[2], [0], [3], [1]]}),
        _record(2, RANKED, {"ranking": [[0, 1, 2, 3]]}),  # one tier: no preference
    ]
    best_worst = list(read_dpo([_export("trl-dpo", "ranking", records, {})]))
    assert best_worst == [DpoExample("Best?", "r2", "r1")]
    every = list(read_dpo([_export("trl-dpo", "ranking", records, {}, pairs="all")]))
    assert [(e.chosen, e.rejected) for e in every] == [
        ("r2", "r0"),
        ("r2", "r3"),
        ("r2", "r1"),
        ("r0", "r3"),
        ("r0", "r1"),
        ("r3", "r1"),
    ]
    tiers = [_record(3, RANKED, {"ranking": [[0, 3], [1], [2]]})]
    tiered = list(read_dpo([_export("trl-dpo", "ranking", tiers, {})]))
    assert [(e.chosen, e.rejected) for e in tiered] == [("r0", "r2"), ("r3", "r2")]


@pytest.mark.parametrize(
    ("task_type", "options", "option"),
    [
        ("ranking", {"pairs": "adjacent"}, "pairs"),
        ("pairwise_comparison", {"pairs": "all"}, "pairs"),
        ("ranking", {"conversational": "yes"}, "conversational"),
        ("ranking", {"format": "x"}, "options"),
    ],
)
def test_dpo_option_errors_name_the_option(
    task_type: str, options: Mapping[str, Any], option: str
) -> None:
    with pytest.raises(FormatError) as excinfo:
        exporter_for("trl-dpo", task_type).check_options(ExportContext(task_type, {}, options))
    assert str(excinfo.value).startswith(f"{option}:")


def test_only_the_types_each_format_expresses() -> None:
    with pytest.raises(FormatError, match="cannot export 'rating'"):
        exporter_for("trl-dpo", "rating")
    with pytest.raises(FormatError, match="cannot export 'ranking'"):
        exporter_for("trl-sft", "ranking")


@pytest.mark.parametrize(
    ("reader", "line", "problem"),
    [
        (read_sft, b'{"messages": [], "extra": 1}', "columns must be exactly messages"),
        (read_sft, b'{"messages": [{"role": "assistant", "content": "x"}]}', "messages:"),
        (read_dpo, b'{"prompt": "p", "chosen": "c"}', "columns must be exactly"),
        (read_dpo, b'{"prompt": "p", "chosen": 3, "rejected": "r"}', "chosen:"),
        (read_dpo, b"[1, 2]", "a row is a JSON object"),
        (read_dpo, b"{oops", "not JSON"),
    ],
)
def test_readers_refuse_rows_of_other_shapes(reader: Any, line: bytes, problem: str) -> None:
    with pytest.raises(FormatError) as excinfo:
        list(reader([b"\n" + line + b"\n"]))
    assert str(excinfo.value).startswith("line 2:") and problem in str(excinfo.value)


def test_huggingface_datasets_loads_both_with_trls_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    # Imported here, after the offline settings (the test extra installs it: no skip).
    datasets = importlib.import_module("datasets")
    sft, dpo = tmp_path / "sft.jsonl", tmp_path / "dpo.jsonl"
    sft.write_bytes(_export("trl-sft", "text_collection", SFT_RECORDS, SFT_PROJECT))
    dpo.write_bytes(
        _export("trl-dpo", "ranking", [_record(1, RANKED, {"ranking": [[2], [0], [3], [1]]})], {})
    )
    cache = str(tmp_path / "cache")
    loaded_sft = datasets.load_dataset("json", data_files=str(sft), split="train", cache_dir=cache)
    loaded_dpo = datasets.load_dataset("json", data_files=str(dpo), split="train", cache_dir=cache)
    assert loaded_sft.column_names == ["messages"] and loaded_sft.num_rows == 2
    assert loaded_sft[0]["messages"][1] == {"role": "assistant", "content": "Hi!"}
    assert loaded_dpo.column_names == ["prompt", "chosen", "rejected"]
    assert loaded_dpo[0] == {"prompt": "Best?", "chosen": "r2", "rejected": "r1"}
