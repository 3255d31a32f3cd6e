"""Pairwise comparison: which of two responses to a prompt is better (RLHF preferences).

The annotator chooses ``a``, ``b``, ``tie`` or ``both_bad`` (the last two only where the
project allows them), answers each of the project's criteria with ``a``/``b``/``tie``, and
writes a rationale when the project asks for one.

Widget contract: ``worker_view`` gives ``prompt`` or ``messages``, ``response_a``,
``response_b``, ``choices`` (the allowed overall choices), ``criteria`` and ``rationale``
(``none`` | ``optional`` | ``required``); never ``model_a``/``model_b``, so that knowing who
wrote a response cannot bias the choice. The widget answers ``{"choice", "criteria",
"rationale"}``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar, Literal

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
from labelmill.tasktypes.categorization import ChatMessage
from labelmill.tasktypes.votes import heaviest, vote, weights

Side = Literal["a", "b", "tie"]


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    allow_tie: bool = True
    allow_both_bad: bool = True
    criteria: list[Criterion] = Field(default_factory=list, max_length=50)
    rationale: Literal["none", "optional", "required"] = "optional"


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, max_length=1_000_000)
    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=1_000)
    response_a: str = Field(max_length=1_000_000)
    response_b: str = Field(max_length=1_000_000)
    model_a: str | None = Field(default=None, max_length=500)
    model_b: str | None = Field(default=None, max_length=500)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: Literal["a", "b", "tie", "both_bad"]
    criteria: dict[str, Side] = Field(default_factory=dict)
    rationale: str | None = Field(default=None, max_length=100_000)


def allowed_choices(project_params: Mapping[str, Any]) -> list[str]:
    choices = ["a", "b"]
    if project_params.get("allow_tie", True):
        choices.append("tie")
    if project_params.get("allow_both_bad", True):
        choices.append("both_bad")
    return choices


class PairwiseComparison(TaskType):
    name: ClassVar[str] = "pairwise_comparison"
    description: ClassVar[str] = (
        "Say which of two responses to a prompt is better (tie and both bad optional), per "
        "criterion too, with a rationale: the RLHF preference task."
    )
    widget: ClassVar[str] = "pairwise_comparison"
    aggregator: ClassVar[str] = (
        "labelmill.quality.vote_confidence (weighted vote on the choice and on each criterion)"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems = repeated_names([c.name for c in params.criteria], "criteria", "criterion")
        if problems:
            raise ParamsError(problems)
        return params.model_dump()

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        params = validate_model(TaskParams, raw)
        assert isinstance(params, TaskParams)
        if params.prompt is None and params.messages is None:
            raise ParamsError([(("prompt",), "give the prompt (or the conversation as messages)")])
        if params.prompt is not None and params.messages is not None:
            raise ParamsError([(("messages",), "give prompt or messages, not both")])
        return params.model_dump(exclude_none=True)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        problems: list[tuple[Loc, str]] = []
        if response.choice not in allowed_choices(project_params):
            problems.append((("choice",), f"{response.choice!r} is not allowed in this project"))
        names = [c["name"] for c in project_params.get("criteria", [])]
        for name in response.criteria:
            if name not in names:
                problems.append((("criteria", name), f"{name!r} is not a criterion"))
        for name in names:
            if name not in response.criteria:
                problems.append((("criteria", name), "every criterion must be answered"))
        rationale = (response.rationale or "").strip()
        mode = project_params.get("rationale", "optional")
        if mode == "none" and rationale:
            problems.append((("rationale",), "this project asks for no rationale"))
        if mode == "required" and not rationale:
            problems.append((("rationale",), "a rationale is required"))
        if problems:
            raise ParamsError(problems)
        clean: dict[str, Any] = {
            "choice": response.choice,
            "criteria": {name: response.criteria[name] for name in names},
        }
        if rationale:
            clean["rationale"] = rationale
        return clean

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        criteria = response.get("criteria") or {}
        return (str(response["choice"]), tuple(sorted(criteria.items())))

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        # The overall preference is what a worker's skill is judged on; criteria refine it.
        return bool(response["choice"] == reference["choice"])

    def answer_classes(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> int | None:
        # With criteria an answer is a combination, not one of K classes.
        if project_params.get("criteria"):
            return None
        return len(allowed_choices(project_params))

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Weighted vote on the choice and on each criterion; the task's confidence is the
        least confident of these decisions. The rationale kept is the most skilled one among
        the answers that made the winning choice."""
        if not answers:
            return Settlement(False, None, 0.0)
        w = weights(answers)
        choice = vote([a.response["choice"] for a in answers], w)
        confidence = choice.confidence
        criteria: dict[str, Any] = {}
        for criterion in project_params.get("criteria", []):
            name = criterion["name"]
            # An answer given under an older version of the params may lack a criterion.
            given = [
                (i, (a.response.get("criteria") or {}).get(name)) for i, a in enumerate(answers)
            ]
            given = [(i, side) for i, side in given if side is not None]
            if not given:
                continue
            decided = vote([side for _, side in given], [w[i] for i, _ in given])
            criteria[name] = decided.value
            confidence = min(confidence, decided.confidence)
        if not (confidence >= confidence_target or at_max_labels):
            return Settlement(False, None, confidence)
        response: dict[str, Any] = {"choice": choice.value, "criteria": criteria}
        backers = [a for a in answers if a.response["choice"] == choice.value]
        best = heaviest(backers, weights(backers), "rationale")
        if best is not None:
            response["rationale"] = backers[best].response["rationale"]
        return Settlement(True, response, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            "instruction": project_params.get("instruction", ""),
            "response_a": task_params["response_a"],
            "response_b": task_params["response_b"],
            "choices": allowed_choices(project_params),
            "criteria": list(project_params.get("criteria", [])),
            "rationale": project_params.get("rationale", "optional"),
        }
        if "messages" in task_params:
            view["messages"] = task_params["messages"]
        else:
            view["prompt"] = task_params.get("prompt", "")
        return view

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response: dict[str, Any] = {
            "choice": "a",
            "criteria": {c["name"]: "a" for c in project_params.get("criteria", [])},
        }
        if project_params.get("rationale") == "required":
            response["rationale"] = "placeholder"
        return response

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"choice": "", "criteria": "", "rationale": ""}
        return {
            "choice": str(response["choice"]),
            "criteria": json.dumps(response.get("criteria") or {}, ensure_ascii=False),
            "rationale": str(response.get("rationale") or ""),
        }
