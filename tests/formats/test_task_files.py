"""The JSONL and CSV task readers, format guessing, and the streaming JSON-list scanner."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from labelmill.cli import task_files as cli_task_files
from labelmill.formats import task_files
from labelmill.formats.json_array import iter_json_array
from labelmill.formats.task_files import RowError, guess_format, parse_column_map, read_rows


def test_jsonl_rows_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"params": {"attachment": "a"}}\n\n{"params": {"attachment": "b"}}\n')
    rows = list(read_rows(path, "jsonl"))
    assert [(r.where, r.task["params"]["attachment"]) for r in rows] == [
        ("line 1", "a"),
        ("line 3", "b"),
    ]
    assert rows[-1].end_offset == path.stat().st_size
    path.write_text('{"params": {}}\n[1]\n')
    with pytest.raises(RowError, match="line 2: expected a JSON object"):
        list(read_rows(path, "jsonl"))


def test_csv_columns_map_to_task_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,text,label,metadata.source,tags,priority,categories\n"
        'u1,"hello, world",cat,web,a|b,5,"[""cat"", ""dog""]"\n'
        "u2,bye,,,,,\n"
    )
    rows = list(
        read_rows(
            path,
            "csv",
            parse_column_map(("id=unique_id", "text=attachment", "label=gold.category")),
        )
    )
    assert rows[0].task == {
        "params": {"attachment": "hello, world", "categories": ["cat", "dog"]},
        "unique_id": "u1",
        "gold_answer": {"category": "cat"},
        "metadata": {"source": "web"},
        "tags": ["a", "b"],
        "priority": 5,
    }
    assert rows[1].task == {"params": {"attachment": "bye"}, "unique_id": "u2"}
    assert [r.line for r in rows] == [2, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3\n", "line 3: 1 cells for 2 columns"),
        ("a,priority\n1,x\n", "line 2: priority 'x' is not an integer"),
        ("a,b\n1,{oops\n", "line 2: column 'b': not valid JSON"),
    ],
)
def test_a_bad_csv_row_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(RowError) as caught:
        list(read_rows(path, "csv"))
    assert message in str(caught.value)


def test_guess_format(tmp_path: Path) -> None:
    def guess(name: str, content: str = "") -> str:
        path = tmp_path / name
        path.write_text(content)
        return guess_format(path)

    assert guess("a.jsonl", '{"params": {}}\n') == "jsonl"
    assert guess("a.json", '{"params": {}}\n') == "jsonl"
    assert guess("ls.json", '\ufeff\n  [{"data": {"text": "x"}}]') == "label-studio"
    assert guess("a.tsv") == "csv"
    assert guess("a.parquet") == "parquet"
    with pytest.raises(ValueError, match="pass --format jsonl|csv|parquet|label-studio"):
        guess("a.xlsx")


def test_parse_column_map_names_the_option() -> None:
    assert parse_column_map(("a=b", "c=metadata.c")) == {"a": "b", "c": "metadata.c"}
    with pytest.raises(ValueError, match="--ls-map 'oops': expected SOURCE=DEST"):
        parse_column_map(("oops",), "--ls-map")


def test_the_cli_module_re_exports_the_readers() -> None:
    assert cli_task_files.read_rows is task_files.read_rows
    assert cli_task_files.Row is task_files.Row


# -- the JSON-list scanner ---------------------------------------------------------------------

TRICKY: list[Any] = [
    {"text": 'quote " and backslash \\ and ] } , [ {', "n": [1, [2, {"x": "]"}]]},
    "a string, with a comma",
    42,
    [],
    {},
    None,
    {"unicode": "é \u2028 😀", "escaped": '\\"'},
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 64, 1 << 20])
def test_scanner_splits_elements_across_any_chunk_boundary(chunk_size: int) -> None:
    document = json.dumps(TRICKY, indent=2, ensure_ascii=False).encode()
    found = list(iter_json_array(io.BytesIO(document), chunk_size=chunk_size))
    assert [value for _, _, value in found] == TRICKY
    assert [index for index, _, _ in found] == list(range(1, len(TRICKY) + 1))
    assert found[-1][1] == len(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"[1,,2]", "element 2: empty element"),
        (b"[1, 2,]", "element 3: a trailing comma"),
        (b"[1, 2", "element 2: the JSON list ends before it is closed"),
        (b'[1, "open', "element 2: the JSON list ends before it is closed"),
        (b"[1] [2]", "element 1: more data after the end of the JSON list"),
        (b'[{"a": }]', "element 1: not valid JSON"),
        (b"[1}", "element 1: not valid JSON"),
        (b"", "element 1: the file is not a JSON list"),
        (b'{"a": 1}', "element 1: the file is not a JSON list"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 4, 1 << 20])
def test_scanner_names_the_bad_element(document: bytes, message: str, chunk_size: int) -> None:
    with pytest.raises(RowError) as caught:
        list(iter_json_array(io.BytesIO(document), chunk_size=chunk_size))
    assert message in str(caught.value)


def test_scanner_streams() -> None:
    """Each element is yielded when at most one chunk past it has been read: the file is
    never read whole first."""
    document = json.dumps([{"i": i, "pad": "x" * 50} for i in range(2000)]).encode()
    raw = io.BytesIO(document)
    seen: list[int] = []
    for index, end_offset, value in iter_json_array(raw, chunk_size=256):
        assert raw.tell() <= end_offset + 256
        assert index == value["i"] + 1
        seen.append(value["i"])
    assert seen == list(range(2000))
