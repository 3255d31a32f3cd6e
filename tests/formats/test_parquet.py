"""Parquet tasks in, the ``parquet`` export out, and Hugging Face ``datasets`` loading it."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.parquet import ROW_GROUP_ROWS, read_parquet
from labelmill.formats.task_files import RowError, guess_format, read_rows

WHEN = dt.datetime(2024, 6, 1, 8, 30, tzinfo=dt.UTC)


def _records(n: int) -> Iterator[ExportRecord]:
    for i in range(n):
        done = i % 3 != 0
        yield ExportRecord(
            task_id=1000 + i,
            unique_id=f"u{i}" if i % 5 else None,
            batch_id=7,
            status="completed" if done else "pending",
            project_version=2,
            params={
                "attachment": f"text {i}",
                "attachment_type": "text",
                "categories": ["cat", {"name": "dog", "children": ["puppy"]}],
            },
            metadata={"source": "s", "n": i} if i % 2 else {},
            tags=["a", f"t{i % 4}"] if i % 2 else [],
            response={"category": "cat"} if done else None,
            confidence=0.75 if done else None,
            n_labels=3 if done else 0,
            completed_at=WHEN + dt.timedelta(seconds=i) if done else None,
        )


def _export(path: Path, n: int, context: ExportContext | None = None) -> list[bytes]:
    exporter = exporter_for("parquet", "categorization")
    chunks = list(exporter.render(_records(n), context or ExportContext("categorization", {})))
    path.write_bytes(b"".join(chunks))
    return chunks


def test_export_streams_row_groups_and_reads_back_as_the_same_tasks(tmp_path: Path) -> None:
    path = tmp_path / "tasks.parquet"
    n = ROW_GROUP_ROWS * 2 + 10
    chunks = _export(path, n)
    # One chunk per full row group as it is written, then the rest and the footer.
    assert len(chunks) == 3 and all(chunks)
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3
    assert parquet.metadata.num_rows == n

    rows = list(read_rows(path, guess_format(path)))
    assert [r.line for r in rows] == list(range(1, n + 1))
    assert all(r.unit == "row" for r in rows)
    for row, record in zip(rows, _records(n), strict=True):
        expected: dict[str, Any] = {"params": record.params}
        if record.unique_id is not None:
            expected["unique_id"] = record.unique_id
        expected["metadata"] = record.metadata
        expected["tags"] = record.tags
        assert row.task == expected
    assert rows[-1].end_offset == path.stat().st_size


def test_exported_answers_become_gold_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "tasks.parquet"
    _export(path, 4)
    rows = list(read_parquet(path, {"response": "gold_answer"}))
    assert [r.task.get("gold_answer") for r in rows] == [
        None,
        {"category": "cat"},
        {"category": "cat"},
        None,
    ]


def test_export_columns_and_types(tmp_path: Path) -> None:
    path = tmp_path / "tasks.parquet"
    _export(path, 3)
    table = pq.read_table(path)
    assert table.column_names == [
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
    assert table.schema.field("tags").type == pa.list_(pa.string())
    assert table.schema.field("completed_at").type == pa.timestamp("us", tz="UTC")
    data = table.to_pylist()
    assert json.loads(data[1]["params"])["categories"][1] == {"name": "dog", "children": ["puppy"]}
    assert data[0]["response"] is None and json.loads(data[1]["response"]) == {"category": "cat"}
    assert data[1]["completed_at"] == WHEN + dt.timedelta(seconds=1)


def test_naive_timestamps_are_taken_as_utc(tmp_path: Path) -> None:
    record = next(_records(2))
    naive = ExportRecord(**{**_fields(record), "completed_at": dt.datetime(2024, 1, 2, 3, 4)})
    exporter = exporter_for("parquet", "categorization")
    path = tmp_path / "t.parquet"
    path.write_bytes(b"".join(exporter.render([naive], ExportContext("categorization", {}))))
    (row,) = pq.read_table(path).to_pylist()
    assert row["completed_at"] == dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)


def _fields(record: ExportRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ExportRecord.__slots__}


def test_options_are_refused() -> None:
    exporter = exporter_for("parquet", "rating")
    with pytest.raises(FormatError, match="options: the parquet format takes none"):
        exporter.check_options(ExportContext("rating", {}, {"compression": "gzip"}))


def test_huggingface_datasets_loads_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    # Imported here, after the offline settings (the test extra installs it: no skip).
    datasets = importlib.import_module("datasets")
    path = tmp_path / "tasks.parquet"
    _export(path, 25)
    loaded = datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == 25
    assert loaded.column_names == pq.read_table(path).column_names
    assert loaded.features["tags"].feature.dtype == "string"
    first, second = loaded[0], loaded[1]
    assert first["task_id"] == 1000 and first["unique_id"] is None
    assert first["response"] is None and first["confidence"] is None
    assert json.loads(second["params"])["attachment"] == "text 1"
    assert json.loads(second["response"]) == {"category": "cat"}
    assert second["tags"] == ["a", "t1"] and second["n_labels"] == 3
    assert second["completed_at"] == WHEN + dt.timedelta(seconds=1)


# -- Parquet files from elsewhere (a Hugging Face dataset, pandas) ------------------------------


def _write_table(path: Path, columns: dict[str, Any], row_group_size: int = 2) -> None:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)


def test_columns_follow_the_csv_conventions_on_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "hf.parquet"
    _write_table(
        path,
        {
            "id": [1, 2, 3],
            "text": ["[Music] plays", "b", "c"],
            "label": ["cat", None, "dog"],
            "choices": [["cat", "dog"], ["dog"], None],
            "source": ["x", "y", "z"],
            "extra": [{"lang": "en", "score": 1.5}, None, {"lang": "fr", "score": None}],
            "tags": [["t1", "t2"], [], None],
            "priority": [3, 0, -1],
            "when": [dt.date(2024, 1, 1), None, None],
        },
    )
    rows = list(
        read_parquet(
            path,
            {
                "id": "unique_id",
                "text": "attachment",
                "label": "gold.category",
                "choices": "categories",
                "source": "metadata.source",
            },
        )
    )
    assert rows[0].task == {
        "unique_id": "1",
        "params": {
            "attachment": "[Music] plays",  # a string is a string: no JSON guessing
            "categories": ["cat", "dog"],
            "extra": {"lang": "en", "score": 1.5},
            "when": "2024-01-01",
        },
        "gold_answer": {"category": "cat"},
        "metadata": {"source": "x"},
        "tags": ["t1", "t2"],
        "priority": 3,
    }
    assert rows[1].task == {
        "unique_id": "2",
        "params": {"attachment": "b", "categories": ["dog"]},
        "metadata": {"source": "y"},
        "tags": [],
        "priority": 0,
    }
    assert "gold_answer" not in rows[1].task
    assert rows[2].task["params"]["extra"] == {"lang": "fr", "score": None}


def test_params_as_a_struct_or_json_column(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    _write_table(
        path,
        {
            "params": [{"attachment": "a", "attachment_type": "text"}, None],
            "gold_answer": ['{"category": "cat"}', None],
            "attachment": [None, "b"],
        },
    )
    rows = list(read_parquet(path, {}))
    assert rows[0].task == {
        "params": {"attachment": "a", "attachment_type": "text"},
        "gold_answer": {"category": "cat"},
    }
    assert rows[1].task == {"params": {"attachment": "b"}}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"text": ["ok", "ok", "ok"], "priority": [1, 2, 3], "params": ["{}", "{}", "[1]"]},
            "row 3: column 'params': expected an object",
        ),
        (
            {"text": ["ok", "ok"], "params": ["{}", "{bad"]},
            "row 2: column 'params': not valid JSON",
        ),
        (
            {"image": [b"\x89PNG", b"x"]},
            "row 1: column 'image': binary data cannot be a task field",
        ),
        ({"tags": [["a"], [], ["b"], [], [None]]}, "row 5: column 'tags': tags must be a list"),
        ({"priority": [1.5]}, "row 1: column 'priority': priority 1.5 is not an integer"),
    ],
)
def test_a_bad_row_is_named(tmp_path: Path, columns: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.parquet"
    _write_table(path, columns)
    with pytest.raises(RowError) as caught:
        list(read_parquet(path, {}))
    assert message in str(caught.value)


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RowError, match="row 1: not a Parquet file"):
        list(read_parquet(path, {}))
