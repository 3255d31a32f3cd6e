"""Rating: criteria scales, values on the step, weighted means with a shrunk error."""

from __future__ import annotations

import math
from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type
from labelmill.tasktypes.rating import Rating

TYPE = get_task_type("rating")
assert TYPE is not None

PARAMS = TYPE.validate_project_params(
    {
        "instruction": "Rate the answer",
        "criteria": [
            {"name": "helpfulness", "min": 1, "max": 5, "labels": {"1": "useless", "5": "great"}},
            {"name": "harmlessness", "min": 0, "max": 1, "step": 0.25},
        ],
    }
)
TASK = TYPE.validate_task_params({"text": "Paris is in France.", "prompt": "Where?"}, PARAMS)


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


@pytest.mark.parametrize(
    ("criterion", "loc"),
    [
        ({"name": "c", "min": 5, "max": 1}, ("criteria", 1, "max")),
        ({"name": "c", "min": 0, "max": 1, "step": 0.3}, ("criteria", 1, "step")),
        ({"name": "c", "min": 0, "max": 1, "step": 0}, ("criteria", 1, "step")),
        ({"name": "c", "min": 1, "max": 5, "labels": {"6": "x"}}, ("criteria", 1, "labels", "6")),
        ({"name": "c", "min": 1, "max": 5, "labels": {"hi": "x"}}, ("criteria", 1, "labels", "hi")),
        ({"name": "ok", "min": 1, "max": 5}, ("criteria", 1, "name")),
        ({"name": "c", "min": True, "max": 5}, ("criteria", 1, "min")),
    ],
)
def test_bad_criteria_name_the_setting(criterion: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_project_params({"criteria": [{"name": "ok", "min": 1, "max": 5}, criterion]})
    assert _locs(excinfo) == [loc]


def test_project_and_task_params() -> None:
    assert PARAMS["criteria"][0]["step"] == 1
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_project_params({"criteria": []})
    assert _locs(excinfo) == [("criteria",)]
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params({"prompt": "no item"}, PARAMS)
    assert _locs(excinfo) == [("text",)]
    view = TYPE.worker_view(PARAMS, TASK)
    assert view["criteria"][0]["labels"] == {"1": "useless", "5": "great"}
    assert (view["text"], view["prompt"]) == ("Paris is in France.", "Where?")


def test_every_criterion_on_its_scale_and_step() -> None:
    clean = TYPE.validate_response(
        {"ratings": {"harmlessness": 0.75, "helpfulness": 4.0}}, PARAMS, TASK
    )
    assert clean == {"ratings": {"helpfulness": 4, "harmlessness": 0.75}}
    for ratings, loc in (
        ({"helpfulness": 6, "harmlessness": 1}, ("ratings", "helpfulness")),
        ({"helpfulness": 0, "harmlessness": 1}, ("ratings", "helpfulness")),
        ({"helpfulness": 3.5, "harmlessness": 1}, ("ratings", "helpfulness")),
        ({"helpfulness": 3, "harmlessness": 0.3}, ("ratings", "harmlessness")),
        ({"helpfulness": 3}, ("ratings", "harmlessness")),
        ({"helpfulness": 3, "harmlessness": 1, "speed": 2}, ("ratings", "speed")),
        ({"helpfulness": True, "harmlessness": 1}, ("ratings", "helpfulness")),
        ({"helpfulness": "4", "harmlessness": 1}, ("ratings", "helpfulness")),
    ):
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_response({"ratings": ratings}, PARAMS, TASK)
        assert _locs(excinfo) == [loc], ratings


def test_placeholder_keys_agreement_and_flat_answer() -> None:
    placeholder = TYPE.placeholder_response(PARAMS, TASK)
    assert TYPE.validate_response(placeholder, PARAMS, TASK) == placeholder
    a = {"ratings": {"helpfulness": 4, "harmlessness": 0.5}}
    assert TYPE.answer_key(a) == TYPE.answer_key(
        {"ratings": {"harmlessness": 0.5, "helpfulness": 4.0}}
    )
    assert TYPE.agrees(a, {"ratings": {"helpfulness": 5, "harmlessness": 0.5}})
    assert TYPE.agrees(a, {"ratings": {"helpfulness": 3.2, "harmlessness": 1}})
    assert not TYPE.agrees(a, {"ratings": {"helpfulness": 2, "harmlessness": 0.5}})
    assert not TYPE.agrees(a, {"ratings": {"helpfulness": 4}})
    # With the params each criterion's own step is the tolerance: 0.25 for harmlessness.
    close = {"ratings": {"helpfulness": 4, "harmlessness": 0.75}}
    far = {"ratings": {"helpfulness": 4, "harmlessness": 1}}
    assert Rating().agrees(a, close, project_params=PARAMS)
    assert not Rating().agrees(a, far, project_params=PARAMS)
    assert TYPE.agrees(a, far)
    assert TYPE.flat_answer(a) == {"ratings": '{"helpfulness": 4, "harmlessness": 0.5}'}


def _settle(
    ratings: list[dict[str, float]],
    skills: list[float | None] | None = None,
    *,
    target: float = 0.9,
    at_max: bool = False,
) -> Any:
    skills = skills or [None] * len(ratings)
    answers = [
        Answer(i + 1, {"ratings": r}, s)
        for i, (r, s) in enumerate(zip(ratings, skills, strict=True))
    ]
    return TYPE.settle(
        answers,
        project_params=PARAMS,
        task_params=TASK,
        confidence_target=target,
        at_max_labels=at_max,
    )


def _hand_confidence(values: list[float], w: float, low: float, high: float, step: float) -> float:
    """The shrunk-error confidence of equal-weight ratings, computed from the formula."""
    n = len(values)
    mean = sum(values) / n
    residual = sum((v - mean) ** 2 for v in values)
    spread = math.sqrt((2 * (high - low) ** 2 / 12 + residual) / (2 + n - 1))
    return math.erf(step / (spread / math.sqrt(w * n) * math.sqrt(2)))


def test_agreeing_ratings_complete_with_the_hand_computed_confidence() -> None:
    same = {"helpfulness": 4, "harmlessness": 1}
    agreeing = _settle([same, same, same])
    assert agreeing.complete and agreeing.response == {"ratings": same}
    expected = min(
        _hand_confidence([4, 4, 4], 0.7, 1, 5, 1), _hand_confidence([1, 1, 1], 0.7, 0, 1, 0.25)
    )
    assert agreeing.confidence == pytest.approx(expected)
    assert 0.9 < agreeing.confidence < 0.95


def test_disagreement_asks_for_more_and_the_cap_settles_on_the_mean() -> None:
    split = [{"helpfulness": 1, "harmlessness": 1}, {"helpfulness": 5, "harmlessness": 1}]
    open_ = _settle(split)
    assert not open_.complete and open_.response is None
    assert open_.confidence == pytest.approx(_hand_confidence([1, 5], 0.7, 1, 5, 1))
    capped = _settle([*split, {"helpfulness": 5, "harmlessness": 0.75}], at_max=True)
    assert capped.complete
    assert capped.response == {"ratings": {"helpfulness": 3.666667, "harmlessness": 0.916667}}


def test_skill_weights_pull_the_mean() -> None:
    ratings = [
        {"helpfulness": 1, "harmlessness": 0},
        {"helpfulness": 1, "harmlessness": 0},
        {"helpfulness": 5, "harmlessness": 1},
    ]
    weighted = _settle(ratings, [0.3, 0.3, 0.9], at_max=True)
    assert weighted.response == {"ratings": {"helpfulness": 3.4, "harmlessness": 0.6}}
    # The same agreeing ratings are less evidence from less skilled workers.
    same = [{"helpfulness": 4, "harmlessness": 1}] * 3
    assert _settle(same, [0.95] * 3).confidence > _settle(same, [0.5] * 3).confidence


def test_each_workers_bias_is_subtracted_within_the_scale() -> None:
    lenient = {"helpfulness": 2.0, "harmlessness": 0.25}
    answers = [
        Answer(1, {"ratings": {"helpfulness": 5, "harmlessness": 1}}, None, lenient),
        Answer(2, {"ratings": {"helpfulness": 3, "harmlessness": 0.75}}, None),
        Answer(3, {"ratings": {"helpfulness": 2, "harmlessness": 0.5}}, None, {"helpfulness": -1}),
    ]
    settled = TYPE.settle(
        answers, project_params=PARAMS, task_params=TASK, confidence_target=0.9, at_max_labels=True
    )
    # helpfulness: (5 - 2, 3, 2 + 1) = 3; harmlessness: (1 - 0.25, 0.75, 0.5) = 0.666667.
    assert settled.response == {"ratings": {"helpfulness": 3, "harmlessness": 0.666667}}
    # A correction never leaves the scale: 1 - 2 counts as 1.
    low = [Answer(1, {"ratings": {"helpfulness": 1, "harmlessness": 0}}, None, lenient)]
    alone = TYPE.settle(
        low, project_params=PARAMS, task_params=TASK, confidence_target=0.9, at_max_labels=True
    )
    assert alone.response == {"ratings": {"helpfulness": 1, "harmlessness": 0}}
