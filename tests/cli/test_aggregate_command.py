"""``labelmill aggregate``: offline truth inference on a labels CSV, checked on hand-computed cases.

The fixture: workers a, b, c label tasks t1..t4.

    task  a     b    c    majority (share)   gold
    t1    cat   cat  dog  cat  (2/3)         cat
    t2    dog   dog  dog  dog  (3/3)         dog
    t3    cat   dog  dog  dog  (2/3)         cat   <- the crowd is wrong
    t4    bird  cat  cat  cat  (2/3)         cat

so majority vote is right on 3 of 4 gold tasks; on gold a and b are right 3 times of 4, c twice.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from labelmill.cli import cli
from labelmill.cli.aggregate_command import gold_weights

ANSWERS = [
    ("a", "t1", "cat"), ("b", "t1", "cat"), ("c", "t1", "dog"),
    ("a", "t2", "dog"), ("b", "t2", "dog"), ("c", "t2", "dog"),
    ("a", "t3", "cat"), ("b", "t3", "dog"), ("c", "t3", "dog"),
    ("a", "t4", "bird"), ("b", "t4", "cat"), ("c", "t4", "cat"),
]  # fmt: skip
GOLD = [("t1", "cat"), ("t2", "dog"), ("t3", "cat"), ("t4", "cat")]
METHODS = ["auto", "mv", "wmv", "wawa", "zbs", "ds", "onecoin", "glad", "mace", "gold-ds"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def labels_file(tmp_path: Path, answers: list[tuple[str, str, str]] = ANSWERS) -> Path:
    rows = "".join(f"{w},{t},{label}\n" for w, t, label in answers)
    return write(tmp_path / "labels.csv", "worker,task,label\n" + rows)


def gold_file(tmp_path: Path, gold: list[tuple[str, str]] = GOLD) -> Path:
    rows = "".join(f"{t},{label}\n" for t, label in gold)
    return write(tmp_path / "gold.csv", "task,true_label\n" + rows)


def run(*args: str | Path) -> Result:
    # catch_exceptions=False: anything but a clean click error is a traceback, and fails here.
    return CliRunner().invoke(cli, ["aggregate", *map(str, args)], catch_exceptions=False)


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_majority_vote_writes_labels_and_prints_accuracy(tmp_path: Path) -> None:
    gold = gold_file(tmp_path, [*GOLD, ("t9", "cat")])  # t9 has no label: ignored
    out = tmp_path / "result.csv"
    result = run(labels_file(tmp_path), "--method", "mv", "--gold", gold, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "labels.csv: 12 labels, 4 tasks, 3 workers, 3 classes (bird, cat, dog)" in lines
    assert "method: mv = MajorityVote(default_skill=None)" in lines
    assert "gold: 5 tasks, 4 with at least one label (1 absent from the labels, ignored)" in lines
    assert "accuracy 0.750 on 4 gold tasks" in lines
    assert f"wrote 4 labels to {out}" in lines
    assert read_csv_rows(out) == [
        ["task", "label", "confidence"],
        ["t1", "cat", "0.666667"],
        ["t2", "dog", "1.0"],
        ["t3", "dog", "0.666667"],
        ["t4", "cat", "0.666667"],
    ]
    # Per-worker table: 4 answers each, ties broken by worker id; a: 3/4, c: 2/4 on gold.
    assert "workers with most answers (top 10), scored on gold:" in lines
    workers = [row for row in (line.split() for line in lines) if row[:1] in (["a"], ["b"], ["c"])]
    assert [row[:4] for row in workers] == [
        ["a", "4", "4", "0.750"],
        ["b", "4", "4", "0.750"],
        ["c", "4", "4", "0.500"],
    ]


def test_without_out_prints_a_summary_and_writes_nothing(tmp_path: Path) -> None:
    labels = labels_file(tmp_path)
    result = run(labels)
    assert result.exit_code == 0, result.output
    assert "method: auto = dawid_skene(" in result.output
    assert "accuracy" not in result.output
    assert "(pass --out FILE to save the labels)" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_one_label_per_task(tmp_path: Path, method: str) -> None:
    out = tmp_path / "result.csv"
    result = run(
        labels_file(tmp_path), "--method", method, "--gold", gold_file(tmp_path), "--out", out
    )
    assert result.exit_code == 0, result.output
    rows = read_csv_rows(out)
    assert rows[0] == ["task", "label", "confidence"]
    assert [row[0] for row in rows[1:]] == ["t1", "t2", "t3", "t4"]
    for _task, label, confidence in rows[1:]:
        assert label in {"bird", "cat", "dog"}
        assert 0.0 < float(confidence) <= 1.0
    # Unanimous t2 is "dog" under any sensible model.
    assert rows[2][1] == "dog"
    assert re.search(r"^accuracy \d\.\d{3} on 4 gold tasks", result.output, re.M)


def test_gold_fitted_methods_report_held_out_accuracy(tmp_path: Path) -> None:
    # t5: only c answered, "dog"; its gold is "fish", a class no worker ever gives. A fit that
    # sees t5's gold pins it to "fish"; one that does not can never say "fish". So an honest
    # (held-out) accuracy is at most 4/5, while the in-sample one would be 5/5.
    answers = [*ANSWERS, ("c", "t5", "dog")]
    gold = gold_file(tmp_path, [*GOLD, ("t5", "fish")])
    out = tmp_path / "result.csv"
    for method in ("gold-ds", "auto"):
        result = run(
            labels_file(tmp_path, answers), "--method", method, "--gold", gold, "--out", out
        )
        assert result.exit_code == 0, result.output
        pattern = r"^accuracy (\d\.\d{3}) on 5 gold tasks \(held out: 5-fold"
        match = re.search(pattern, result.output, re.M)
        assert match, result.output
        assert float(match.group(1)) <= 0.8
        assert "(5 gold tasks pinned at 1)" in result.output
        # The written labels use all the gold: t5 is pinned to its known answer.
        assert ["t5", "fish", "1.0"] in read_csv_rows(out)


def test_wmv_accuracy_is_held_out_leave_one_out_on_few_gold_tasks(tmp_path: Path) -> None:
    # 4 gold tasks < 5 folds: leave-one-out. Hiding t3, a weighs 32/45 against b + c's 73/45,
    # so t3 stays "dog" (wrong); the other three are right either way.
    result = run(labels_file(tmp_path), "--method", "wmv", "--gold", gold_file(tmp_path))
    assert result.exit_code == 0, result.output
    assert "accuracy 0.750 on 4 gold tasks (held out: 4-fold cross-fit" in result.output
    assert "weights: gold accuracy shrunk by 2 answers" in result.output


def test_wmv_weights_are_gold_accuracy_shrunk_to_the_crowd() -> None:
    data = pd.DataFrame(ANSWERS, columns=["worker", "task", "label"])
    gold = pd.Series(dict(GOLD))
    weights = gold_weights(data, gold)
    # Pooled accuracy 8/12; a: (3 + 2 * 2/3) / (4 + 2) = 13/18; c: (2 + 4/3) / 6 = 10/18.
    assert weights.to_dict() == pytest.approx({"a": 13 / 18, "b": 13 / 18, "c": 10 / 18})
    assert gold_weights(data, pd.Series(dtype=object)).to_dict() == {"a": 1.0, "b": 1.0, "c": 1.0}


@pytest.mark.parametrize("method", ["gold-ds", "wmv"])
def test_gold_methods_without_gold_are_a_usage_error(tmp_path: Path, method: str) -> None:
    result = run(labels_file(tmp_path), "--method", method)
    assert result.exit_code == 2
    assert f"--method {method} needs --gold" in result.output


def test_renamed_columns_in_any_order(tmp_path: Path) -> None:
    rows = "".join(f"{label},{t},{w}\n" for w, t, label in ANSWERS)
    labels = write(tmp_path / "in.csv", "answer,item,annotator\n" + rows)
    gold = write(tmp_path / "g.csv", "item,answer\n" + "".join(f"{t},{g}\n" for t, g in GOLD))
    result = run(
        labels, "--method", "mv", "--gold", gold,
        "--task-column", "item", "--worker-column", "annotator", "--label-column", "answer",
        "--gold-label-column", "answer",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "in.csv: 12 labels, 4 tasks, 3 workers, 3 classes (bird, cat, dog)" in result.output
    assert "accuracy 0.750 on 4 gold tasks" in result.output


def test_gold_file_may_call_its_column_label(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "label,task\ncat,t1\ndog,t2\ncat,t3\ndog,t4\n")
    result = run(labels_file(tmp_path), "--method", "mv", "--gold", gold)
    assert result.exit_code == 0, result.output
    assert "accuracy 0.500 on 4 gold tasks" in result.output


def test_labels_are_kept_as_strings(tmp_path: Path) -> None:
    # "01" and "1" are two classes, as in the file; a numeric parse would merge them.
    labels = write(tmp_path / "labels.csv", "worker,task,label\na,7,01\nb,7,1\nc,7,1\n")
    out = tmp_path / "out.csv"
    result = run(labels, "--method", "mv", "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 classes (01, 1)" in result.output
    assert read_csv_rows(out)[1] == ["7", "1", "0.666667"]


def test_missing_column_names_the_column_and_the_file(tmp_path: Path) -> None:
    labels = write(tmp_path / "labels.csv", "worker,task,answer\na,t1,cat\n")
    result = run(labels)
    assert result.exit_code == 1
    assert f"Error: {labels}: no column 'label'" in result.output
    assert "--label-column" in result.output


def test_missing_gold_column_names_the_gold_file(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "task,truth\nt1,cat\n")
    result = run(labels_file(tmp_path), "--gold", gold)
    assert result.exit_code == 1
    assert f"{gold}: no column 'true_label' or 'label'" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("worker,task,label\na,t1,cat\nb,t1,cat,extra\n", "line 3: malformed row, 4 cells"),
        ("worker,task,label\na,t1,cat\n\nb,t1,\n", "line 4: column 'label' is empty"),
        ('worker,task,label\na,t1,cat\nb,t1,"ca"t\n', "line 3: malformed CSV"),
        ("worker,task,label,worker\na,t1,cat,b\n", "line 1: column 'worker' appears more"),
    ],
)
def test_malformed_rows_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    labels = write(tmp_path / "labels.csv", text)
    result = run(labels)
    assert result.exit_code == 1
    assert f"Error: {labels}: {message}" in result.output


def test_a_multi_line_cell_keeps_line_numbers_right(tmp_path: Path) -> None:
    text = 'worker,task,label\na,t1,"two\nlines"\nb,t1\n'
    result = run(write(tmp_path / "labels.csv", text))
    assert result.exit_code == 1
    assert "line 4: malformed row, 2 cells for 3 columns" in result.output


def test_invalid_utf8_is_a_clean_error(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_bytes(b"worker,task,label\na,t1,\xff\xfe\n")
    result = run(labels)
    assert result.exit_code == 1
    assert f"Error: {labels}: line " in result.output
    assert "malformed CSV" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("\n\n", "the file is empty"), ("worker,task,label\n", "no rows")],
)
def test_empty_files_are_errors(tmp_path: Path, text: str, message: str) -> None:
    labels = write(tmp_path / "labels.csv", text)
    result = run(labels)
    assert result.exit_code == 1
    assert f"Error: {labels}: {message}" in result.output


def test_missing_file_is_named(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "nope.csv" in result.output
    assert "does not exist" in result.output


def test_conflicting_gold_names_both_lines(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "task,true_label\nt1,cat\nt2,dog\nt1,dog\n")
    result = run(labels_file(tmp_path), "--gold", gold)
    assert result.exit_code == 1
    assert f"{gold}: line 4: task 't1' has gold 'dog' here but 'cat' on line 2" in result.output


def test_no_labelled_gold_task(tmp_path: Path) -> None:
    gold = gold_file(tmp_path, [("x1", "cat"), ("x2", "dog")])
    result = run(labels_file(tmp_path), "--method", "mv", "--gold", gold)
    assert result.exit_code == 0, result.output
    assert "gold: 2 tasks, 0 with at least one label (2 absent from the labels, ignored)" in (
        result.output
    )
    assert "accuracy: no gold task has a label" in result.output


def test_repeated_answers_are_reported(tmp_path: Path) -> None:
    result = run(labels_file(tmp_path, [*ANSWERS, ("a", "t1", "cat")]), "--method", "mv")
    assert result.exit_code == 0, result.output
    assert "warning: 1 repeated (worker, task) answers; each counts" in result.output


def test_the_command_does_not_import_the_server() -> None:
    code = (
        "import sys\n"
        "from labelmill.cli import cli\n"
        "cli.get_command(None, 'aggregate')\n"
        "names = ('labelmill.cli.aggregate_command', 'sqlalchemy', 'fastapi', 'labelmill.server')\n"
        "print(sorted(m for m in names if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['labelmill.cli.aggregate_command']"
