"""text_spans: params, responses (checked against the text and the offered labels),
normalisation, agreement and settling with skill weights."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type
from labelmill.tasktypes.base import TaskType

TEXT = "Ada Lovelace met Charles Babbage in London."  # 43 characters
PROJECT_RAW = {"labels": ["PER", "LOC"], "relations": ["met"]}
ADA = {"start": 0, "end": 12, "label": "PER"}
CHARLES = {"start": 17, "end": 32, "label": "PER"}
LONDON = {"start": 36, "end": 42, "label": "LOC"}


@pytest.fixture
def kind() -> TaskType:
    task_type = get_task_type("text_spans")
    assert task_type is not None
    return task_type


@pytest.fixture
def project(kind: TaskType) -> dict[str, Any]:
    return kind.validate_project_params(PROJECT_RAW)


@pytest.fixture
def task(kind: TaskType, project: dict[str, Any]) -> dict[str, Any]:
    return kind.validate_task_params({"text": TEXT}, project)


def _locs(exc: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in exc.value.problems]


def test_project_defaults(kind: TaskType) -> None:
    assert kind.validate_project_params({"labels": ["PER"]}) == {
        "instruction": "",
        "labels": ["PER"],
        "relations": [],
        "allow_overlap": False,
    }


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({"labels": []}, ("labels",)),
        ({"labels": ["PER", "PER"]}, ("labels", 1)),
        ({"labels": ["PER"], "relations": ["a", " "]}, ("relations", 1)),
        ({"labels": ["PER"], "colour": "red"}, ("colour",)),
    ],
)
def test_bad_project_params_name_the_field(
    kind: TaskType, raw: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_project_params(raw)
    assert loc in _locs(exc)


@pytest.mark.parametrize(("raw", "loc"), [({}, ("text",)), ({"text": 3}, ("text",))])
def test_bad_task_params_name_the_field(
    kind: TaskType, project: dict[str, Any], raw: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_task_params(raw, project)
    assert loc in _locs(exc)


def test_response_is_sorted_and_relations_follow_their_spans(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    raw = {"spans": [LONDON, CHARLES, ADA], "relations": [{"from": 2, "to": 1, "label": "met"}]}
    clean = kind.validate_response(raw, project, task)
    assert clean == {
        "spans": [ADA, CHARLES, LONDON],
        "relations": [{"from": 0, "to": 1, "label": "met"}],
    }
    assert kind.validate_response(clean, project, task) == clean
    assert kind.validate_response({"spans": [ADA]}, project, task) == {
        "spans": [ADA],
        "relations": [],
    }


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({"spans": [ADA, {"start": 40, "end": 44, "label": "LOC"}]}, ("spans", 1, "end")),
        ({"spans": [{"start": 5, "end": 5, "label": "PER"}]}, ("spans", 0, "end")),
        ({"spans": [{"start": -1, "end": 5, "label": "PER"}]}, ("spans", 0, "start")),
        ({"spans": [{"start": 0, "end": 5, "label": "ORG"}]}, ("spans", 0, "label")),
        ({"spans": [{"start": 0.0, "end": 5, "label": "PER"}]}, ("spans", 0, "start")),
        ({"spans": [ADA, {"start": 4, "end": 12, "label": "PER"}]}, ("spans", 1, "start")),
        ({"spans": [ADA, ADA]}, ("spans", 1)),
        (
            {"spans": [ADA], "relations": [{"from": 0, "to": 3, "label": "met"}]},
            ("relations", 0, "to"),
        ),
        (
            {"spans": [ADA], "relations": [{"from": 0, "to": 0, "label": "met"}]},
            ("relations", 0, "to"),
        ),
        (
            {"spans": [ADA, CHARLES], "relations": [{"from": 0, "to": 1, "label": "knew"}]},
            ("relations", 0, "label"),
        ),
        ({"spans": [ADA], "extra": 1}, ("extra",)),
    ],
)
def test_bad_responses_name_the_field(
    kind: TaskType,
    project: dict[str, Any],
    task: dict[str, Any],
    raw: dict[str, Any],
    loc: tuple[str | int, ...],
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_response(raw, project, task)
    assert loc in _locs(exc), exc.value.problems


def test_overlap_only_where_allowed(kind: TaskType, task: dict[str, Any]) -> None:
    overlapping = {"spans": [ADA, {"start": 4, "end": 12, "label": "PER"}]}
    project = kind.validate_project_params({**PROJECT_RAW, "allow_overlap": True})
    assert len(kind.validate_response(overlapping, project, task)["spans"]) == 2


def test_placeholder_is_valid(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    placeholder = kind.placeholder_response(project, task)
    assert kind.validate_response(placeholder, project, task) == placeholder
    assert placeholder["spans"] == []


def test_worker_view_and_flat_answer(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    view = kind.worker_view(project, task)
    assert (
        view["text"] == TEXT and view["labels"] == ["PER", "LOC"] and view["relations"] == ["met"]
    )
    flat = kind.flat_answer({"spans": [ADA], "relations": []})
    assert flat == {"spans": '[{"start": 0, "end": 12, "label": "PER"}]', "relations": "[]"}
    assert kind.flat_answer(None) == {"spans": "", "relations": ""}


def test_answer_key_and_agreement(kind: TaskType) -> None:
    full = {"spans": [ADA, CHARLES, LONDON], "relations": []}
    assert kind.answer_key(full) == kind.answer_key({"spans": [ADA, CHARLES, LONDON]})
    assert kind.answer_key(full) != kind.answer_key({"spans": [ADA, CHARLES]})
    # One of three missed: F1 = 0.8 agrees; one of three mislabelled (F1 2/3) does not.
    assert kind.agrees({"spans": [ADA, CHARLES]}, full)
    assert not kind.agrees({"spans": [ADA]}, full)
    assert not kind.agrees({"spans": [ADA, CHARLES, {**LONDON, "label": "PER"}]}, full)
    assert kind.agrees({"spans": []}, {"spans": []})
    assert not kind.agrees({"spans": []}, {"spans": [ADA]})


def _settle(
    kind: TaskType,
    project: dict[str, Any],
    task: dict[str, Any],
    responses: list[dict[str, Any]],
    skills: list[float | None],
    at_max: bool = False,
    target: float = 0.8,
) -> Any:
    answers = [
        Answer(i, kind.validate_response(r, project, task), s)
        for i, (r, s) in enumerate(zip(responses, skills, strict=True))
    ]
    return kind.settle(
        answers,
        project_params=project,
        task_params=task,
        confidence_target=target,
        at_max_labels=at_max,
    )


def test_agreeing_workers_complete_with_the_consensus(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    response = {"spans": [ADA, CHARLES], "relations": [{"from": 0, "to": 1, "label": "met"}]}
    settled = _settle(kind, project, task, [response, response], [None, None])
    assert settled.complete
    assert settled.response == {
        "spans": [ADA, CHARLES],
        "relations": [{"from": 0, "to": 1, "label": "met"}],
    }
    # Two agreeing answers of the prior skill 0.7: P(share > 1/2 | Beta(2.4, 1)).
    assert settled.confidence == pytest.approx(1 - 0.5**2.4)
    assert kind.validate_response(settled.response, project, task) == settled.response


def test_disagreeing_workers_need_another_label(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    one = {"spans": [ADA]}
    other = {"spans": [{**ADA, "label": "LOC"}]}
    settled = _settle(kind, project, task, [one, other], [None, None])
    assert not settled.complete and settled.response is None
    assert settled.confidence == pytest.approx(0.5)
    forced = _settle(kind, project, task, [one, other], [None, None], at_max=True)
    assert forced.complete and forced.response is not None


def test_skill_weights_decide(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    one = {"spans": [ADA]}
    other = {"spans": [{**ADA, "label": "LOC"}]}
    expert_first = _settle(kind, project, task, [one, other], [0.95, 0.55], at_max=True)
    expert_second = _settle(kind, project, task, [one, other], [0.55, 0.95], at_max=True)
    assert expert_first.response["spans"] == [ADA]
    assert expert_second.response["spans"] == [{**ADA, "label": "LOC"}]


def test_a_relation_needs_half_the_weight(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    linked = {"spans": [ADA, CHARLES], "relations": [{"from": 0, "to": 1, "label": "met"}]}
    plain = {"spans": [ADA, CHARLES]}
    kept = _settle(kind, project, task, [linked, plain, plain], [0.9, 0.4, 0.4], at_max=True)
    assert kept.response["relations"] == [{"from": 0, "to": 1, "label": "met"}]
    dropped = _settle(kind, project, task, [linked, plain, plain], [0.4, 0.9, 0.9], at_max=True)
    assert dropped.response["relations"] == []
    # An uncertain relation lowers the confidence below that of the spans alone.
    assert (
        dropped.confidence
        < _settle(
            kind, project, task, [plain, plain, plain], [0.4, 0.9, 0.9], at_max=True
        ).confidence
    )


CJK = "张三李四在京沪见面"  # Zhang San, Li Si, in Beijing and Shanghai, meet: no spaces
CJK_RESPONSE = {
    "spans": [
        {"start": 0, "end": 2, "label": "PER"},
        {"start": 2, "end": 4, "label": "PER"},
        {"start": 5, "end": 6, "label": "LOC"},
        {"start": 6, "end": 7, "label": "LOC"},
    ],
    "relations": [{"from": 0, "to": 1, "label": "met"}],
}


def test_touching_spans_of_one_label_stay_apart(kind: TaskType, project: dict[str, Any]) -> None:
    task = kind.validate_task_params({"text": CJK}, project)
    settled = _settle(kind, project, task, [CJK_RESPONSE] * 3, [None, None, None])
    assert settled.complete
    assert settled.response == CJK_RESPONSE
    assert kind.agrees(CJK_RESPONSE, settled.response)


def test_skill_decides_where_a_span_is_cut(kind: TaskType, project: dict[str, Any]) -> None:
    task = kind.validate_task_params({"text": CJK}, project)
    two = {"spans": CJK_RESPONSE["spans"][:2]}
    one = {"spans": [{"start": 0, "end": 4, "label": "PER"}]}
    cut = _settle(kind, project, task, [two, one], [0.9, 0.5], at_max=True)
    assert cut.response is not None and cut.response["spans"] == two["spans"]
    whole = _settle(kind, project, task, [two, one], [0.5, 0.9], at_max=True)
    assert whole.response is not None and whole.response["spans"] == one["spans"]
    # The workers disagree only on the cut: less sure than if they agreed.
    assert cut.confidence < _settle(kind, project, task, [two, two], [0.9, 0.5]).confidence
