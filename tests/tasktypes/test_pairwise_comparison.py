"""Pairwise comparison: allowed choices, criteria, rationale modes and the weighted vote."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type

TYPE = get_task_type("pairwise_comparison")
assert TYPE is not None

CRITERIA = [{"name": "helpfulness"}, {"name": "honesty", "description": "no made-up facts"}]
TASK = {"prompt": "Say hi", "response_a": "Hi!", "response_b": "Go away.", "model_a": "m1"}


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


def _project(**extra: Any) -> dict[str, Any]:
    return TYPE.validate_project_params({"instruction": "Which is better?", **extra})


def test_project_params_defaults_and_duplicate_criteria() -> None:
    params = _project()
    assert (params["allow_tie"], params["allow_both_bad"], params["rationale"]) == (
        True,
        True,
        "optional",
    )
    with pytest.raises(ParamsError) as excinfo:
        _project(criteria=[{"name": "x"}, {"name": "x"}])
    assert _locs(excinfo) == [("criteria", 1, "name")]
    with pytest.raises(ParamsError) as excinfo:
        _project(rationale="sometimes")
    assert _locs(excinfo) == [("rationale",)]


def test_task_params_need_a_prompt_or_messages_and_hide_the_models() -> None:
    params = _project()
    clean = TYPE.validate_task_params(TASK, params)
    assert clean["model_a"] == "m1"
    view = TYPE.worker_view(params, clean)
    assert "model_a" not in str(view) and view["prompt"] == "Say hi"
    assert view["choices"] == ["a", "b", "tie", "both_bad"]
    chat = {**TASK, "prompt": None, "messages": [{"role": "user", "content": "hi"}]}
    assert "messages" in TYPE.worker_view(params, TYPE.validate_task_params(chat, params))
    for raw, loc in (
        ({"response_a": "x", "response_b": "y"}, ("prompt",)),
        ({**TASK, "messages": [{"role": "user", "content": "hi"}]}, ("messages",)),
        ({"prompt": "p", "response_a": "x"}, ("response_b",)),
    ):
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_task_params(raw, params)
        assert _locs(excinfo) == [loc]


def test_responses_obey_the_projects_choices_criteria_and_rationale() -> None:
    strict = _project(
        allow_tie=False, allow_both_bad=False, criteria=CRITERIA, rationale="required"
    )
    good = {"choice": "a", "criteria": {"honesty": "tie", "helpfulness": "a"}, "rationale": " ok "}
    clean = TYPE.validate_response(good, strict, TASK)
    assert clean == {
        "choice": "a",
        "criteria": {"helpfulness": "a", "honesty": "tie"},
        "rationale": "ok",
    }
    bad_cases: list[tuple[dict[str, Any], list[tuple[str | int, ...]]]] = [
        ({**good, "choice": "tie"}, [("choice",)]),
        ({**good, "choice": "both_bad"}, [("choice",)]),
        ({**good, "choice": "c"}, [("choice",)]),
        ({**good, "criteria": {"helpfulness": "a"}}, [("criteria", "honesty")]),
        ({**good, "criteria": {**good["criteria"], "speed": "a"}}, [("criteria", "speed")]),
        ({**good, "criteria": {"helpfulness": "both_bad", "honesty": "a"}}, []),
        ({**good, "rationale": "  "}, [("rationale",)]),
        ({"choice": "a", "criteria": good["criteria"]}, [("rationale",)]),
    ]
    for raw, locs in bad_cases:
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_response(raw, strict, TASK)
        if locs:
            assert _locs(excinfo) == locs, raw
        else:  # pydantic's own error names the criterion
            assert _locs(excinfo)[0][:2] == ("criteria", "helpfulness")
    silent = _project(rationale="none")
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_response({"choice": "b", "rationale": "because"}, silent, TASK)
    assert _locs(excinfo) == [("rationale",)]
    assert TYPE.validate_response({"choice": "both_bad"}, _project(), TASK) == {
        "choice": "both_bad",
        "criteria": {},
    }


def test_placeholder_is_valid_and_keys_and_agreement() -> None:
    for params in (_project(), _project(criteria=CRITERIA, rationale="required")):
        placeholder = TYPE.placeholder_response(params, TASK)
        assert TYPE.validate_response(placeholder, params, TASK) == placeholder
    a1 = {"choice": "a", "criteria": {"helpfulness": "a"}}
    a2 = {"choice": "a", "criteria": {"helpfulness": "tie"}, "rationale": "x"}
    assert TYPE.answer_key(a1) != TYPE.answer_key(a2)
    assert TYPE.answer_key(a1) == TYPE.answer_key({**a1, "rationale": "other"})
    assert TYPE.agrees(a1, a2)  # the overall choice decides agreement
    assert not TYPE.agrees(a1, {"choice": "b", "criteria": {"helpfulness": "a"}})
    assert TYPE.answer_classes(_project(allow_both_bad=False), TASK) == 3
    assert TYPE.answer_classes(_project(criteria=CRITERIA), TASK) is None
    assert TYPE.flat_answer(a2) == {
        "choice": "a",
        "criteria": '{"helpfulness": "tie"}',
        "rationale": "x",
    }
    assert TYPE.flat_answer(None) == {"choice": "", "criteria": "", "rationale": ""}


def _answers(*responses: dict[str, Any], skills: list[float | None] | None = None) -> list[Answer]:
    skills = skills or [None] * len(responses)
    return [Answer(i + 1, r, s) for i, (r, s) in enumerate(zip(responses, skills, strict=True))]


def _settle(answers: list[Answer], params: dict[str, Any], target: float, at_max: bool) -> Any:
    return TYPE.settle(
        answers,
        project_params=params,
        task_params=TASK,
        confidence_target=target,
        at_max_labels=at_max,
    )


def test_settle_is_a_weighted_vote_on_the_choice_and_each_criterion() -> None:
    params = _project(criteria=[{"name": "helpfulness"}])
    same = {"choice": "a", "criteria": {"helpfulness": "a"}}
    # Three agreeing workers of the prior skill 0.7: P(theta > 1/2 | Beta(1 + 2.1, 1)).
    agreeing = _settle(_answers(same, same, same), params, 0.85, False)
    assert agreeing.complete and agreeing.response == same
    assert abs(agreeing.confidence - (1 - 0.5**3.1)) < 1e-9
    # The criterion split keeps the task open even though the choice is unanimous.
    split = _settle(
        _answers(same, {"choice": "a", "criteria": {"helpfulness": "b"}}, same), params, 0.85, False
    )
    assert not split.complete and split.response is None
    assert split.confidence < agreeing.confidence
    capped = _settle(
        _answers(same, {"choice": "a", "criteria": {"helpfulness": "b"}}, same), params, 0.85, True
    )
    assert capped.complete and capped.response == same


def test_skill_weights_decide_and_the_winners_rationale_is_kept() -> None:
    params = _project()
    expert = {"choice": "b", "rationale": "b is polite"}
    novice = {"choice": "a", "rationale": "a is short"}
    settled = _settle(_answers(novice, novice, expert, skills=[0.3, 0.3, 0.95]), params, 0.5, True)
    assert settled.response == {"choice": "b", "criteria": {}, "rationale": "b is polite"}
    unweighted = _settle(_answers(novice, novice, expert), params, 0.5, True)
    assert unweighted.response is not None and unweighted.response["choice"] == "a"
    assert unweighted.response["rationale"] == "a is short"
