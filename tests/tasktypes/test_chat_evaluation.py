"""Chat evaluation: per-turn and overall fields, one entry per assistant turn."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type
from labelmill.tasktypes.chat_evaluation import ChatEvaluation

TYPE = get_task_type("chat_evaluation")
assert TYPE is not None

PARAMS = TYPE.validate_project_params(
    {
        "instruction": "Judge the assistant",
        "turn_fields": [
            {"name": "quality", "type": "rating", "min": 1, "max": 5},
            {"name": "comment", "type": "text", "required": False},
        ],
        "overall_fields": [{"name": "resolved", "type": "choice", "choices": ["yes", "no"]}],
    }
)
MESSAGES = [
    {"role": "system", "content": "Be nice"},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"},
    {"role": "assistant", "content": "Goodbye!"},
]
TASK = TYPE.validate_task_params({"messages": MESSAGES}, PARAMS)


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


def _response(q2: Any = 4, q4: Any = 4, resolved: str = "yes", **turn4: Any) -> dict[str, Any]:
    return {
        "turns": [
            {"turn": 2, "values": {"quality": q2}},
            {"turn": 4, "values": {"quality": q4, **turn4}},
        ],
        "overall": {"resolved": resolved},
    }


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({}, ("turn_fields",)),
        ({"turn_fields": [{"name": "q", "type": "rating"}]}, ("turn_fields", 0)),
        (
            {"turn_fields": [{"name": "q", "type": "rating", "min": 3, "max": 1}]},
            ("turn_fields", 0, "max"),
        ),
        ({"overall_fields": [{"name": "c", "type": "choice"}]}, ("overall_fields", 0, "choices")),
        (
            {"overall_fields": [{"name": "c", "type": "text", "choices": ["a"]}]},
            ("overall_fields", 0, "choices"),
        ),
        (
            {"overall_fields": [{"name": "c", "type": "choice", "choices": ["a"], "min": 1}]},
            ("overall_fields", 0, "min"),
        ),
        (
            {"turn_fields": [{"name": "t", "type": "text"}, {"name": "t", "type": "text"}]},
            ("turn_fields", 1, "name"),
        ),
    ],
)
def test_bad_fields_name_the_setting(raw: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_project_params(raw)
    assert _locs(excinfo) == [loc]


def test_task_params_need_an_assistant_turn() -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params({"messages": MESSAGES[:2]}, PARAMS)
    assert _locs(excinfo) == [("messages",)]
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params({"messages": [{"role": "bot", "content": "x"}]}, PARAMS)
    assert _locs(excinfo)[0][:3] == ("messages", 0, "role")
    assert TYPE.worker_view(PARAMS, TASK)["assistant_turns"] == [2, 4]


def test_responses_cover_every_assistant_turn_once() -> None:
    raw = _response(comment="  polite ")
    raw["turns"].reverse()
    assert TYPE.validate_response(raw, PARAMS, TASK) == {
        "turns": [
            {"turn": 2, "values": {"quality": 4}},
            {"turn": 4, "values": {"quality": 4, "comment": "polite"}},
        ],
        "overall": {"resolved": "yes"},
    }
    missing = {"turns": [{"turn": 2, "values": {"quality": 4}}], "overall": {"resolved": "yes"}}
    user_turn = _response()
    user_turn["turns"][1]["turn"] = 3
    twice = _response()
    twice["turns"][1]["turn"] = 2
    for bad, locs in (
        (missing, [("turns",)]),
        (user_turn, [("turns", 1, "turn")]),
        (twice, [("turns", 1, "turn")]),
        (_response(q4=6), [("turns", 1, "values", "quality")]),
        (_response(q4=2.5), [("turns", 1, "values", "quality")]),
        (_response(q2=None), [("turns", 0, "values", "quality")]),
        (_response(resolved="maybe"), [("overall", "resolved")]),
        (_response(mood=1), [("turns", 1, "values", "mood")]),
        ({"turns": _response()["turns"]}, [("overall", "resolved")]),
    ):
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_response(bad, PARAMS, TASK)
        assert _locs(excinfo) == locs, bad


def test_placeholder_keys_agreement_and_flat_answer() -> None:
    placeholder = TYPE.placeholder_response(PARAMS, TASK)
    assert TYPE.validate_response(placeholder, PARAMS, TASK) == placeholder
    assert TYPE.answer_key(_response()) == TYPE.answer_key(_response())
    assert TYPE.answer_key(_response()) != TYPE.answer_key(_response(q4=5))
    agrees = ChatEvaluation().agrees
    assert agrees(_response(q4=5, comment="fine"), _response(comment="meh"), project_params=PARAMS)
    assert not agrees(_response(q4=2), _response(), project_params=PARAMS)
    assert not agrees(_response(resolved="no"), _response())
    # Without the params (the base contract) a short comment is compared like a choice,
    # a long one (over 100 characters) is not.
    assert not agrees(_response(comment="fine"), _response(comment="meh"))
    assert agrees(_response(q4=5, comment="x" * 101), _response(comment="y" * 101))
    flat = TYPE.flat_answer(_response())
    assert set(flat) == {"turns", "overall"} and flat["overall"] == '{"resolved": "yes"}'


def _settle(
    responses: list[dict[str, Any]],
    skills: list[float | None] | None = None,
    *,
    target: float = 0.85,
    at_max: bool = False,
) -> Any:
    skills = skills or [None] * len(responses)
    answers = [Answer(i + 1, r, s) for i, (r, s) in enumerate(zip(responses, skills, strict=True))]
    return TYPE.settle(
        answers,
        project_params=PARAMS,
        task_params=TASK,
        confidence_target=target,
        at_max_labels=at_max,
    )


def test_settle_field_by_field_with_the_least_confident_field() -> None:
    agreeing = _settle([_response(comment="ok"), _response(), _response(comment="good")])
    assert agreeing.complete
    assert agreeing.response == {
        "turns": [
            {"turn": 2, "values": {"quality": 4}},
            {"turn": 4, "values": {"quality": 4, "comment": "ok"}},
        ],
        "overall": {"resolved": "yes"},
    }
    # A split on the overall choice alone keeps the task open.
    split = _settle([_response(), _response(resolved="no"), _response()])
    assert not split.complete and split.confidence < agreeing.confidence
    capped = _settle([_response(), _response(resolved="no"), _response(q2=5)], at_max=True)
    assert capped.complete and capped.response is not None
    assert capped.response["overall"] == {"resolved": "yes"}
    assert capped.response["turns"][0]["values"]["quality"] == pytest.approx(4.333333)


def test_skill_weights_decide_choices_means_and_comments() -> None:
    settled = _settle(
        [
            _response(q2=1, resolved="no", comment="weak"),
            _response(q2=1, resolved="no"),
            _response(q2=5, resolved="yes", comment="expert"),
        ],
        [0.3, 0.3, 0.9],
        at_max=True,
    )
    assert settled.response is not None
    assert settled.response["overall"] == {"resolved": "yes"}
    assert settled.response["turns"][0]["values"]["quality"] == pytest.approx(3.4)
    assert settled.response["turns"][1]["values"]["comment"] == "expert"
