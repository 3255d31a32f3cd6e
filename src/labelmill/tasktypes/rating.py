"""Rating: one or more Likert or numeric criteria per item (helpfulness, harmlessness, ...).

Each criterion has a scale ``min``..``max`` in steps of ``step`` (default 1), optional
``labels`` for some of its values (``{"1": "useless", "5": "perfect"}``) and a description.
Every criterion must be rated, within bounds, on the step.

Widget contract: ``worker_view`` gives ``criteria`` (with their scales and labels), ``text``,
``prompt`` and ``attachment``; the widget answers ``{"ratings": {criterion: value}}``.

The settled answer holds each criterion's skill-weighted mean, which need not lie on the step
(a 4, 4, 5 split settles at 4.333333): for reward modelling the mean carries information
that snapping would lose.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from labelmill.tasktypes.base import (
    Answer,
    Loc,
    ParamsError,
    Settlement,
    TaskType,
    repeated_names,
    validate_model,
)
from labelmill.tasktypes.votes import Number, on_step, scale_estimate, tidy_number, weights

#: How far apart two ratings of a criterion may be and still agree (see ``Rating.agrees``).
AGREEMENT_TOLERANCE = 1.0


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    min: Number
    max: Number
    step: Number = Field(default=1, gt=0)
    labels: dict[str, str] | None = None
    description: str = Field(default="", max_length=10_000)


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    criteria: list[Criterion] = Field(min_length=1, max_length=50)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1_000_000)
    prompt: str | None = Field(default=None, max_length=1_000_000)
    attachment: str | None = Field(default=None, max_length=10_000)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ratings: dict[str, Number]


def _check_criterion(index: int, criterion: Criterion) -> list[tuple[Loc, str]]:
    loc: Loc = ("criteria", index)
    if criterion.max <= criterion.min:
        return [((*loc, "max"), "max must be greater than min")]
    if not on_step(criterion.max, criterion.min, criterion.step):
        return [((*loc, "step"), "max - min must be a whole number of steps")]
    problems: list[tuple[Loc, str]] = []
    for key in criterion.labels or {}:
        try:
            value = float(key)
        except ValueError:
            problems.append(((*loc, "labels", key), "a label's key is a value of the scale"))
            continue
        if not (criterion.min <= value <= criterion.max) or not on_step(
            value, criterion.min, criterion.step
        ):
            problems.append(((*loc, "labels", key), f"{key} is not a value of the scale"))
    return problems


def check_value(value: float, criterion: Mapping[str, Any]) -> str | None:
    """Why ``value`` is not a rating on ``criterion``'s scale, or None."""
    low, high, step = criterion["min"], criterion["max"], criterion.get("step", 1)
    if not low <= value <= high:
        return f"{tidy_number(value)} is outside the scale {low} to {high}"
    if not on_step(value, low, step):
        return f"{tidy_number(value)} is not on the scale's step of {step} from {low}"
    return None


class Rating(TaskType):
    name: ClassVar[str] = "rating"
    description: ClassVar[str] = (
        "Rate an item on one or more Likert or numeric criteria with bounds and a step."
    )
    widget: ClassVar[str] = "rating"
    aggregator: ClassVar[str] = (
        "skill-weighted mean per criterion of the ratings corrected for each worker's bias "
        "(estimated by labelmill.quality.aggregate_ratings in the project's re-aggregation), "
        "with a shrunk standard error (its variance prior)"
    )
    response_model: ClassVar[type[BaseModel]] = Response
    corrects_worker_bias: ClassVar[bool] = True

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems = repeated_names([c.name for c in params.criteria], "criteria", "criterion")
        for index, criterion in enumerate(params.criteria):
            problems += _check_criterion(index, criterion)
        if problems:
            raise ParamsError(problems)
        clean = params.model_dump(exclude_none=True)
        for criterion in clean["criteria"]:
            for bound in ("min", "max", "step"):
                criterion[bound] = tidy_number(criterion[bound])
        return clean

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return validate_model(TaskParams, raw).model_dump(exclude_none=True)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        criteria = {c["name"]: c for c in project_params["criteria"]}
        problems: list[tuple[Loc, str]] = [
            (("ratings", name), f"{name!r} is not a criterion")
            for name in response.ratings
            if name not in criteria
        ]
        for name, criterion in criteria.items():
            if name not in response.ratings:
                problems.append((("ratings", name), "every criterion must be rated"))
                continue
            why = check_value(response.ratings[name], criterion)
            if why is not None:
                problems.append((("ratings", name), why))
        if problems:
            raise ParamsError(problems)
        return {"ratings": {name: tidy_number(response.ratings[name]) for name in criteria}}

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        return tuple(sorted((k, float(v)) for k, v in response["ratings"].items()))

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        """The same criteria, each within one step of the reference.

        The ``TaskType.agrees`` contract passes no project params, and then the step is not
        known: the tolerance is ``AGREEMENT_TOLERANCE`` (1, the step of the usual Likert
        scales). Given ``project_params``, each criterion's own step is the tolerance.
        """
        steps = {c["name"]: c.get("step", 1) for c in (project_params or {}).get("criteria", [])}
        mine, theirs = response["ratings"], reference["ratings"]
        return mine.keys() == theirs.keys() and all(
            abs(float(mine[k]) - float(theirs[k])) <= steps.get(k, AGREEMENT_TOLERANCE) + 1e-9
            for k in mine
        )

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Each criterion: the skill-weighted mean of the ratings less each worker's bias
        (``Answer.bias``, kept within the scale), and the probability that it is within one
        step of the population's mean (``votes.scale_estimate``); the task's confidence is
        the least confident criterion."""
        if not answers:
            return Settlement(False, None, 0.0)
        w = weights(answers)
        ratings: dict[str, Any] = {}
        confidence = 1.0
        for criterion in project_params["criteria"]:
            name = criterion["name"]
            low, high = float(criterion["min"]), float(criterion["max"])
            pairs = [
                (min(high, max(low, float(v) - (a.bias or {}).get(name, 0.0))), wi)
                for a, wi in zip(answers, w, strict=True)
                if (v := a.response["ratings"].get(name)) is not None
            ]
            if not pairs:
                continue
            decided = scale_estimate(
                [v for v, _ in pairs],
                [wi for _, wi in pairs],
                low=criterion["min"],
                high=criterion["max"],
                step=criterion.get("step", 1),
            )
            ratings[name] = decided.value
            confidence = min(confidence, decided.confidence)
        done = confidence >= confidence_target or at_max_labels
        return Settlement(done, {"ratings": ratings} if done else None, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "criteria": list(project_params["criteria"]),
            "text": task_params["text"],
            "prompt": task_params.get("prompt"),
            "attachment": task_params.get("attachment"),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"ratings": {c["name"]: c["min"] for c in project_params["criteria"]}}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"ratings": ""}
        return {"ratings": json.dumps(response["ratings"], ensure_ascii=False)}
