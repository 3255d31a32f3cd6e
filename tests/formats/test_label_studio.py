"""Label Studio JSON exports in (fixtures written by hand from Label Studio's documented
export format, one per task type labelmill shares with it) and out (round trips)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.label_studio import read_label_studio
from labelmill.formats.task_files import AnswerMode, Row, RowError
from labelmill.tasktypes import get_task_type

FIXTURES = Path(__file__).parent / "fixtures"

PROJECTS: dict[str, dict[str, Any]] = {
    "categorization": {"instruction": "Which animal?", "categories": ["cat", "dog", "bird"]},
    "text_spans": {
        "instruction": "Entities",
        "labels": ["PER", "LOC", "DATE"],
        "relations": ["visited", "when"],
    },
    "image_annotation": {
        "instruction": "Objects",
        "objects": [
            {
                "label": "car",
                "geometry": "box",
                "attributes": [{"name": "color", "type": "choice", "choices": ["red", "blue"]}],
            },
            {"label": "road", "geometry": "polygon"},
            {"label": "light", "geometry": "point"},
        ],
    },
    "pairwise_comparison": {
        "instruction": "Which is better?",
        "criteria": [{"name": "helpfulness", "description": "Helps the user"}],
        "rationale": "optional",
    },
    "rating": {
        "instruction": "Rate",
        "criteria": [
            {"name": "helpfulness", "min": 1, "max": 5},
            {"name": "honesty", "min": 1, "max": 5},
        ],
    },
    "text_collection": {
        "instruction": "Write",
        "fields": [
            {"name": "response", "type": "text"},
            {"name": "language", "type": "choice", "choices": ["en", "fr"]},
            {"name": "syllables", "type": "number"},
        ],
    },
}


def _read(
    task_type: str,
    path: Path | None = None,
    *,
    project: dict[str, Any] | None = None,
    data_map: dict[str, str] | None = None,
    annotations: AnswerMode = "gold",
) -> list[Row]:
    return list(
        read_label_studio(
            path or FIXTURES / f"ls_{task_type}.json",
            task_type,
            PROJECTS[task_type] if project is None else project,
            data_map=data_map,
            annotations=annotations,
        )
    )


def _write(tmp_path: Path, tasks: list[Any]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


# -- reading the fixtures ----------------------------------------------------------------------


def test_categorization_fixture() -> None:
    rows = _read("categorization")
    assert [(r.line, r.unit, r.ref) for r in rows] == [
        (1, "task", "Label Studio id 101"),
        (2, "task", "Label Studio id 102"),
        (3, "task", "Label Studio id 103"),
    ]
    first, second, third = (r.task for r in rows)
    assert first == {
        "params": {"attachment": "A cat asleep on the mat", "attachment_type": "text"},
        "metadata": {"source": "web-crawl", "batch": "march", "label_studio_id": 101},
        "gold_answer": {"category": "cat"},  # the annotation, not the model's prediction
    }
    # The cancelled annotation is passed over for the next one.
    assert second["params"] == {
        "attachment": "https://example.com/images/dog.jpg",
        "attachment_type": "image",
    }
    assert second["gold_answer"] == {"category": "dog"}
    assert "gold_answer" not in third
    # Progress: bytes up to each task's end; the last one ends at the closing bracket,
    # before the file's final newline.
    offsets = [r.end_offset for r in rows]
    assert offsets == sorted(offsets)
    assert offsets[-1] == (FIXTURES / "ls_categorization.json").stat().st_size - 1


def test_categorization_multiple_choice_and_skip() -> None:
    project = {**PROJECTS["categorization"], "multiple": True}
    rows = _read("categorization", project=project)
    assert rows[0].task["gold_answer"] == {"categories": ["cat"]}
    skipped = _read("categorization", annotations="skip")
    assert all("gold_answer" not in r.task for r in skipped)
    assert skipped[0].task["params"] == rows[0].task["params"]


def test_text_spans_fixture_with_relations() -> None:
    rows = _read("text_spans")
    assert rows[0].task["params"] == {"text": "Barack Obama visited Paris in 2015."}
    # Spans sorted by offset; relation ends re-pointed at the sorted spans; "left" reversed.
    assert rows[0].task["gold_answer"] == {
        "spans": [
            {"start": 0, "end": 12, "label": "PER"},
            {"start": 21, "end": 26, "label": "LOC"},
            {"start": 30, "end": 34, "label": "DATE"},
        ],
        "relations": [
            {"from": 0, "to": 1, "label": "visited"},
            {"from": 0, "to": 2, "label": "when"},
        ],
    }
    # An annotation marked ground_truth wins over an earlier one.
    assert rows[1].task["gold_answer"] == {"spans": [{"start": 0, "end": 3, "label": "PER"}]}


def test_image_annotation_fixture_percent_to_pixels() -> None:
    rows = _read("image_annotation")
    first = rows[0].task
    assert first["params"] == {
        "image": "https://example.com/street.jpg",
        "width": 640,
        "height": 480,
    }
    assert first["gold_answer"] == {
        "annotations": [
            {
                "label": "car",
                "type": "box",
                "left": 64.0,
                "top": 96.0,
                "width": 192.0,
                "height": 192.0,
                "attributes": {"color": "red"},
            },
            {
                "label": "road",
                "type": "polygon",
                "vertices": [
                    {"x": 320.0, "y": 240.0},
                    {"x": 480.0, "y": 240.0},
                    {"x": 480.0, "y": 480.0},
                ],
                "attributes": {},
            },
            {"label": "light", "type": "point", "x": 320.0, "y": 120.0, "attributes": {}},
        ]
    }
    # 40x40 px at (100, 10), turned 90° clockwise about its top-left corner: its bounding
    # box spans x 60..100, y 10..50.
    (box,) = rows[1].task["gold_answer"]["annotations"]
    assert (box["left"], box["top"], box["width"], box["height"]) == (60.0, 10.0, 40.0, 40.0)
    assert rows[1].task["params"]["width"] == 200


def test_pairwise_fixture() -> None:
    rows = _read("pairwise_comparison")
    assert rows[0].task["params"] == {
        "prompt": "Explain recursion to a child.",
        "response_a": "Recursion is when a function calls itself.",
        "response_b": "Imagine Russian dolls: each doll holds a smaller one, until the tiniest.",
    }
    assert rows[0].task["gold_answer"] == {
        "choice": "b",
        "criteria": {"helpfulness": "b"},
        "rationale": "The doll picture is concrete.",
    }
    assert rows[1].task["gold_answer"] == {"choice": "tie", "criteria": {"helpfulness": "tie"}}


def test_rating_fixture(tmp_path: Path) -> None:
    (row,) = _read("rating")
    assert row.task["params"] == {
        "text": "The answer cites its sources.",
        "prompt": "Is the answer helpful?",
    }
    assert row.task["gold_answer"] == {"ratings": {"helpfulness": 4, "honesty": 5}}
    # One criterion: a result under another control name still rates it.
    single = {"instruction": "Rate", "criteria": [{"name": "overall", "min": 1, "max": 5}]}
    path = FIXTURES / "ls_rating.json"
    with pytest.raises(RowError, match="from_name 'helpfulness' is not one of"):
        _read("rating", path, project={**single, "criteria": [*single["criteria"]] * 2})
    tasks = json.loads(path.read_text())
    tasks[0]["annotations"][0]["result"] = tasks[0]["annotations"][0]["result"][:1]
    one = read_label_studio(_write(tmp_path, tasks), "rating", single)
    assert next(one).task["gold_answer"] == {"ratings": {"overall": 4}}


def test_text_collection_fixture() -> None:
    (row,) = _read("text_collection")
    assert row.task["params"] == {"prompt": "Write a haiku about autumn."}
    assert row.task["metadata"] == {"topic": "seasons", "label_studio_id": 601}
    assert row.task["gold_answer"] == {
        "fields": {
            "response": "Red leaves drift and fall\nthe river carries them home",
            "language": "en",
            "syllables": 12,
        }
    }


@pytest.mark.parametrize("task_type", sorted(PROJECTS))
def test_fixture_tasks_and_answers_are_valid_for_their_type(task_type: str) -> None:
    """What the reader makes of each fixture passes the task type's own validation (the
    check ``labelmill import`` runs before sending anything)."""
    kind = get_task_type(task_type)
    assert kind is not None
    project = kind.validate_project_params(PROJECTS[task_type])  # as the server stores them
    rows = _read(task_type)
    for row in rows:
        params = kind.validate_task_params(row.task["params"], project)
        if "gold_answer" in row.task:
            kind.validate_response(row.task["gold_answer"], project, params)
    assert any("gold_answer" in row.task for row in rows)


def test_ls_map_renames_data_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"id": 9, "data": {"review": "Great dog", "kind": "text"}}])
    rows = _read(
        "categorization", path, data_map={"review": "attachment", "kind": "attachment_type"}
    )
    assert rows[0].task["params"] == {"attachment": "Great dog", "attachment_type": "text"}


# -- bad tasks are named -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "bad", "message"),
    [
        (
            "categorization",
            {"id": 77, "data": {"body": "no text key"}},
            "task 2: (Label Studio id 77) data: no data.text or data.image or data.url for "
            "params.attachment",
        ),
        ("categorization", {"id": 78}, "task 2: (Label Studio id 78) data: missing"),
        ("categorization", [1, 2], "task 2: expected a task object"),
        (
            "categorization",
            {
                "id": 79,
                "data": {"text": "x"},
                "annotations": [
                    {
                        "result": [
                            {
                                "id": "c",
                                "from_name": "a",
                                "to_name": "text",
                                "type": "choices",
                                "value": {"choices": ["cat", "dog"]},
                            }
                        ]
                    }
                ],
            },
            "chose 2 categories (cat, dog) but the project takes one",
        ),
        (
            "text_spans",
            {
                "id": 80,
                "data": {"text": "Paris"},
                "annotations": [
                    {
                        "result": [
                            {
                                "id": "s",
                                "from_name": "l",
                                "to_name": "text",
                                "type": "labels",
                                "value": {"end": 5, "labels": ["LOC"]},
                            }
                        ]
                    }
                ],
            },
            "task 2: (Label Studio id 80) annotation result 0 (labels 's'): value.start and "
            "value.end must be integers",
        ),
        (
            "text_spans",
            {
                "id": 81,
                "data": {"text": "Paris"},
                "annotations": [
                    {
                        "result": [
                            {
                                "id": "s",
                                "from_name": "l",
                                "to_name": "text",
                                "type": "labels",
                                "value": {"start": 0, "end": 5, "labels": ["LOC"]},
                            },
                            {"from_id": "s", "to_id": "zz", "type": "relation", "labels": ["near"]},
                        ]
                    }
                ],
            },
            "annotation result 1 (relation): refers to region 'zz', which is not a labeled span",
        ),
        (
            "image_annotation",
            {
                "id": 82,
                "data": {"image": "u"},
                "annotations": [
                    {
                        "result": [
                            {
                                "id": "b",
                                "from_name": "o",
                                "to_name": "image",
                                "type": "rectanglelabels",
                                "value": {
                                    "x": 1,
                                    "y": 1,
                                    "width": 1,
                                    "height": 1,
                                    "rectanglelabels": ["car"],
                                },
                            }
                        ]
                    }
                ],
            },
            "annotation result 0 (rectanglelabels 'b'): original_width must be a number",
        ),
        (
            "image_annotation",
            {
                "id": 83,
                "data": {"image": "u"},
                "annotations": [
                    {
                        "result": [
                            {
                                "id": "m",
                                "from_name": "o",
                                "to_name": "image",
                                "type": "brushlabels",
                                "value": {"rle": [1, 2], "brushlabels": ["car"]},
                            }
                        ]
                    }
                ],
            },
            "a 'brushlabels' result has no place in a image_annotation answer",
        ),
    ],
)
def test_a_bad_task_is_named_by_its_index(
    tmp_path: Path, task_type: str, bad: Any, message: str
) -> None:
    good = json.loads((FIXTURES / f"ls_{task_type}.json").read_text())[0]
    path = _write(tmp_path, [good, bad, good])
    with pytest.raises(RowError) as caught:
        _read(task_type, path)
    assert message in str(caught.value)
    assert caught.value.line == 2 and caught.value.unit == "task"


def test_a_file_that_is_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"data": {}}')
    with pytest.raises(RowError, match="task 1: the file is not a JSON list"):
        _read("categorization", path)
    path.write_text('[{"data": {"text": "a"}}, {"data": ')
    with pytest.raises(RowError, match="task 2: the JSON list ends before it is closed"):
        _read("categorization", path)


def test_a_type_label_studio_does_not_share_is_refused() -> None:
    with pytest.raises(ValueError, match="not 'ranking'"):
        list(read_label_studio(FIXTURES / "ls_rating.json", "ranking", {}))


# -- export → import round trips ---------------------------------------------------------------

ROUND_TRIPS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("categorization", {"attachment": "a dog", "attachment_type": "text"}, {"category": "dog"}),
    (
        "categorization",
        {"attachment": "https://x/y.png", "attachment_type": "image", "categories": ["cat", "dog"]},
        {"category": "cat"},
    ),
    (
        "text_spans",
        {"text": "Barack Obama visited Paris in 2015."},
        {
            "spans": [
                {"start": 0, "end": 12, "label": "PER"},
                {"start": 21, "end": 26, "label": "LOC"},
            ],
            "relations": [{"from": 0, "to": 1, "label": "visited"}],
        },
    ),
    (
        "image_annotation",
        {"image": "https://x/street.jpg", "width": 640, "height": 480},
        {
            "annotations": [
                {
                    "label": "car",
                    "type": "box",
                    "left": 10,
                    "top": 20.5,
                    "width": 100,
                    "height": 50,
                    "attributes": {"color": "blue"},
                },
                {
                    "label": "road",
                    "type": "polygon",
                    "vertices": [{"x": 1, "y": 2}, {"x": 300, "y": 2}, {"x": 300, "y": 479}],
                    "attributes": {},
                },
                {"label": "light", "type": "point", "x": 33, "y": 44, "attributes": {}},
            ]
        },
    ),
    (
        "pairwise_comparison",
        {"prompt": "p", "response_a": "A", "response_b": "B", "model_a": "m1"},
        {"choice": "a", "criteria": {"helpfulness": "tie"}, "rationale": "shorter"},
    ),
    (
        "pairwise_comparison",
        {"prompt": "p", "response_a": "A", "response_b": "B"},
        {"choice": "both_bad"},
    ),
    ("rating", {"text": "t", "prompt": "p"}, {"ratings": {"helpfulness": 2, "honesty": 5}}),
    (
        "text_collection",
        {"prompt": "Write", "attachment": "context", "attachment_type": "text"},
        {"fields": {"response": "An answer", "language": "fr", "syllables": 7}},
    ),
]


def _record(task_id: int, params: dict[str, Any], response: dict[str, Any] | None) -> ExportRecord:
    return ExportRecord(
        task_id=task_id,
        unique_id=f"u{task_id}",
        batch_id=1,
        status="completed" if response else "pending",
        project_version=1,
        params=params,
        metadata={"source": "round-trip"},
        tags=[],
        response=response,
        confidence=0.9 if response else None,
        n_labels=3,
        completed_at=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC) if response else None,
    )


@pytest.mark.parametrize(("task_type", "params", "response"), ROUND_TRIPS)
def test_export_then_import_gives_the_same_params_and_answers(
    tmp_path: Path, task_type: str, params: dict[str, Any], response: dict[str, Any]
) -> None:
    context = ExportContext(task_type=task_type, project_params=PROJECTS[task_type])
    exporter = exporter_for("label-studio", task_type)
    records = [_record(1, params, response), _record(2, params, None)]
    path = tmp_path / "ls.json"
    path.write_bytes(b"".join(exporter.render(iter(records), context)))

    exported = json.loads(path.read_text())
    assert [t["id"] for t in exported] == [1, 2]
    assert len(exported[0]["annotations"]) == 1 and exported[1]["annotations"] == []
    assert exported[0]["annotations"][0]["created_at"] == "2024-05-01T12:00:00+00:00"

    rows = _read(task_type, path)
    assert rows[0].task["params"] == params
    assert rows[0].task["gold_answer"] == response
    assert rows[0].task["metadata"] == {"source": "round-trip", "label_studio_id": 1}
    assert "gold_answer" not in rows[1].task


def test_image_export_needs_the_image_size() -> None:
    exporter = exporter_for("label-studio", "image_annotation")
    context = ExportContext(task_type="image_annotation", project_params={})
    record = _record(5, {"image": "u"}, {"annotations": []})
    with pytest.raises(FormatError, match="task 5: params.width/height"):
        b"".join(exporter.render([record], context))


def test_label_studio_is_not_offered_for_other_types() -> None:
    with pytest.raises(FormatError, match="cannot export 'ranking'"):
        exporter_for("label-studio", "ranking")
