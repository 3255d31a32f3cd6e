"""Chat evaluation: rate a multi-turn conversation turn by turn and as a whole.

The project defines ``turn_fields`` (answered for every assistant message) and
``overall_fields`` (answered once), each a ``rating`` (``min``..``max`` in steps of ``step``,
default 1), a ``choice`` (from ``choices``) or a ``text``; ``required`` defaults to true.

Widget contract: ``worker_view`` gives ``messages``, ``assistant_turns`` (the indices of the
assistant messages, which the response must cover), ``turn_fields`` and ``overall_fields``;
the widget answers ``{"turns": [{"turn": index, "values": {...}}], "overall": {...}}``.

Settling: per field, ratings by skill-weighted mean, choices by weighted vote; the task's
confidence is the least confident of these. Text fields (comments) are not voted: each keeps
the most skilled answer's text. A form of text fields only completes at its label target.
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
from labelmill.tasktypes.votes import (
    Decision,
    Number,
    is_number,
    on_step,
    scale_estimate,
    tidy_number,
    vote,
    weights,
)

#: How far apart two ratings may be and still agree (``agrees`` is not given the scale).
AGREEMENT_TOLERANCE = 1.0


class EvalField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: Literal["rating", "choice", "text"]
    min: Number | None = None
    max: Number | None = None
    step: Number | None = Field(default=None, gt=0)
    choices: list[str] | None = Field(default=None, min_length=1, max_length=1_000)
    required: bool = True
    description: str = Field(default="", max_length=10_000)


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    turn_fields: list[EvalField] = Field(default_factory=list, max_length=50)
    overall_fields: list[EvalField] = Field(default_factory=list, max_length=50)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1, max_length=1_000)


class TurnValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn: int
    values: dict[str, Any] = Field(default_factory=dict)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turns: list[TurnValues] = Field(default_factory=list, max_length=1_000)
    overall: dict[str, Any] = Field(default_factory=dict)


def _check_field(loc: Loc, field: EvalField) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    if field.type == "rating":
        if field.min is None or field.max is None:
            problems.append((loc, "a rating field needs min and max"))
        elif field.max <= field.min:
            problems.append(((*loc, "max"), "max must be greater than min"))
        elif not on_step(field.max, field.min, field.step or 1):
            problems.append(((*loc, "step"), "max - min must be a whole number of steps"))
    else:
        for setting in ("min", "max", "step"):
            if getattr(field, setting) is not None:
                problems.append(((*loc, setting), f"only a rating field has {setting}"))
    if field.type == "choice":
        if not field.choices or len(set(field.choices)) != len(field.choices):
            problems.append(((*loc, "choices"), "a choice field needs unique choices"))
    elif field.choices is not None:
        problems.append(((*loc, "choices"), "only a choice field has choices"))
    return problems


def _check_value(value: Any, field: Mapping[str, Any]) -> tuple[Any, str | None]:
    kind = field["type"]
    if kind == "rating":
        low, high, step = field["min"], field["max"], field.get("step", 1)
        if not is_number(value):
            return value, "must be a number"
        if not low <= value <= high or not on_step(value, low, step):
            return value, f"must be on the scale {low} to {high} in steps of {step}"
        return tidy_number(value), None
    if kind == "choice":
        if value not in field["choices"]:
            return value, f"{value!r} is not one of the choices"
        return value, None
    if not isinstance(value, str):
        return value, "must be a text"
    text = value.strip()
    if field.get("required", True) and not text:
        return text, "must not be blank"
    return text, None


def _check_values(
    values: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], loc: Loc
) -> tuple[dict[str, Any], list[tuple[Loc, str]]]:
    names = {f["name"] for f in fields}
    problems: list[tuple[Loc, str]] = [
        ((*loc, name), f"{name!r} is not a field") for name in values if name not in names
    ]
    clean: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        if values.get(name) is None:
            if field.get("required", True):
                problems.append(((*loc, name), "this field is required"))
            continue
        normal, why = _check_value(values[name], field)
        if why is not None:
            problems.append(((*loc, name), why))
        elif normal != "":
            clean[name] = normal
    return clean, problems


def assistant_turns(messages: Sequence[Mapping[str, Any]]) -> list[int]:
    return [i for i, m in enumerate(messages) if m["role"] == "assistant"]


def _values_agree(
    mine: Mapping[str, Any],
    theirs: Mapping[str, Any],
    skip: set[str],
    steps: Mapping[str, float],
) -> bool:
    """Numbers within their field's step (else ``AGREEMENT_TOLERANCE``), the rest equal;
    the fields in ``skip`` are not compared."""
    for name in (mine.keys() | theirs.keys()) - skip:
        a, b = mine.get(name), theirs.get(name)
        if is_number(a) and is_number(b):
            if abs(float(a) - float(b)) > steps.get(name, AGREEMENT_TOLERANCE) + 1e-9:
                return False
        elif a != b:
            return False
    return True


class ChatEvaluation(TaskType):
    name: ClassVar[str] = "chat_evaluation"
    description: ClassVar[str] = (
        "Evaluate a multi-turn conversation: rating, choice and text fields for every "
        "assistant turn and for the whole."
    )
    widget: ClassVar[str] = "chat_evaluation"
    aggregator: ClassVar[str] = (
        "per field: skill-weighted mean for ratings, labelmill.quality.vote_confidence for "
        "choices; confidence = the least confident field"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems: list[tuple[Loc, str]] = []
        if not params.turn_fields and not params.overall_fields:
            problems.append((("turn_fields",), "give turn_fields or overall_fields"))
        for group in ("turn_fields", "overall_fields"):
            fields = getattr(params, group)
            problems += repeated_names([f.name for f in fields], group, "field")
            for index, field in enumerate(fields):
                problems += _check_field((group, index), field)
        if problems:
            raise ParamsError(problems)
        clean = params.model_dump(exclude_none=True)
        for group in ("turn_fields", "overall_fields"):
            for field in clean[group]:
                if field["type"] == "rating":
                    field["step"] = tidy_number(field.get("step", 1))
                    field["min"], field["max"] = (
                        tidy_number(field["min"]),
                        tidy_number(field["max"]),
                    )
        return clean

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        params = validate_model(TaskParams, raw)
        assert isinstance(params, TaskParams)
        if not any(m.role == "assistant" for m in params.messages):
            raise ParamsError([(("messages",), "the conversation has no assistant message")])
        return params.model_dump()

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        turn_fields = project_params.get("turn_fields", [])
        expected = assistant_turns(task_params["messages"]) if turn_fields else []
        problems: list[tuple[Loc, str]] = []
        turns: dict[int, dict[str, Any]] = {}
        for index, entry in enumerate(response.turns):
            if entry.turn not in expected:
                why = (
                    "this project has no turn fields"
                    if not turn_fields
                    else f"message {entry.turn} is not an assistant message"
                )
                problems.append((("turns", index, "turn"), why))
            elif entry.turn in turns:
                problems.append((("turns", index, "turn"), f"turn {entry.turn} is given twice"))
            else:
                clean, found = _check_values(entry.values, turn_fields, ("turns", index, "values"))
                turns[entry.turn] = clean
                problems += found
        missing = [t for t in expected if t not in turns]
        if missing and not problems:
            problems.append((("turns",), f"assistant turns {missing} are not evaluated"))
        overall, found = _check_values(
            response.overall, project_params.get("overall_fields", []), ("overall",)
        )
        problems += found
        if problems:
            raise ParamsError(problems)
        return {
            "turns": [{"turn": t, "values": turns[t]} for t in expected],
            "overall": overall,
        }

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        turns = tuple(
            (int(t["turn"]), tuple(sorted(t["values"].items()))) for t in response["turns"]
        )
        return (turns, tuple(sorted(response["overall"].items())))

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        """Every choice equal and every rating within one step; text fields (free comments)
        are not compared.

        The ``TaskType.agrees`` contract passes no project params, and then a comment must be
        told from a choice by its shape: a string over 100 characters is taken for a comment
        and the tolerance is ``AGREEMENT_TOLERANCE``. Given ``project_params``, the fields'
        own types and steps decide.
        """
        mine = {t["turn"]: t["values"] for t in response["turns"]}
        theirs = {t["turn"]: t["values"] for t in reference["turns"]}
        if mine.keys() != theirs.keys():
            return False
        groups = [(mine[t], theirs[t], "turn_fields") for t in mine]
        groups.append((response["overall"], reference["overall"], "overall_fields"))
        for a, b, group in groups:
            if project_params is None:
                skip, steps = _long_texts(a, b), {}
            else:
                fields = project_params.get(group, [])
                skip = {f["name"] for f in fields if f["type"] == "text"}
                steps = {f["name"]: f.get("step", 1) for f in fields if f["type"] == "rating"}
            if not _values_agree(a, b, skip, steps):
                return False
        return True

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        if not answers:
            return Settlement(False, None, 0.0)
        w = weights(answers)
        confidence = 1.0
        voted = False
        turns: list[dict[str, Any]] = []
        turn_fields = project_params.get("turn_fields", [])
        for turn in assistant_turns(task_params["messages"]) if turn_fields else []:
            given = [_turn_values(a.response, turn) for a in answers]
            values, conf, any_voted = _settle_values(given, w, turn_fields)
            turns.append({"turn": turn, "values": values})
            confidence, voted = min(confidence, conf), voted or any_voted
        overall_given = [dict(a.response.get("overall") or {}) for a in answers]
        overall, conf, any_voted = _settle_values(
            overall_given, w, project_params.get("overall_fields", [])
        )
        confidence, voted = min(confidence, conf), voted or any_voted
        done = not voted or confidence >= confidence_target or at_max_labels
        response = {"turns": turns, "overall": overall}
        return Settlement(done, response if done else None, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "messages": list(task_params["messages"]),
            "assistant_turns": assistant_turns(task_params["messages"]),
            "turn_fields": list(project_params.get("turn_fields", [])),
            "overall_fields": list(project_params.get("overall_fields", [])),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        turn_fields = project_params.get("turn_fields", [])
        return {
            "turns": [
                {"turn": t, "values": {f["name"]: _placeholder(f) for f in turn_fields}}
                for t in (assistant_turns(task_params["messages"]) if turn_fields else [])
            ],
            "overall": {
                f["name"]: _placeholder(f) for f in project_params.get("overall_fields", [])
            },
        }

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"turns": "", "overall": ""}
        return {
            "turns": json.dumps(response["turns"], ensure_ascii=False),
            "overall": json.dumps(response["overall"], ensure_ascii=False),
        }


def _placeholder(field: Mapping[str, Any]) -> Any:
    if field["type"] == "rating":
        return field["min"]
    if field["type"] == "choice":
        return field["choices"][0]
    return "placeholder"


def _long_texts(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    return {
        k
        for k in a.keys() | b.keys()
        if any(isinstance(v, str) and len(v) > 100 for v in (a.get(k), b.get(k)))
    }


def _turn_values(response: Mapping[str, Any], turn: int) -> dict[str, Any]:
    for entry in response.get("turns") or []:
        if entry["turn"] == turn:
            return dict(entry["values"])
    return {}


def _settle_values(
    given: Sequence[Mapping[str, Any]], w: Sequence[float], fields: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], float, bool]:
    """One form's settled values, its least confidence, and whether any field was voted."""
    settled: dict[str, Any] = {}
    confidence = 1.0
    voted = False
    for field in fields:
        name, kind = field["name"], field["type"]
        present = [(v[name], wi) for v, wi in zip(given, w, strict=True) if v.get(name) is not None]
        decision: Decision | None = None
        if kind == "text":
            if present:
                # The most skilled comment, the earliest on a tie (``max`` keeps the first).
                settled[name] = max(present, key=lambda p: p[1])[0]
            continue
        voted = True
        if kind == "rating" and present:
            decision = scale_estimate(
                [float(v) for v, _ in present],
                [wi for _, wi in present],
                low=field["min"],
                high=field["max"],
                step=field.get("step", 1),
            )
        elif kind == "choice":
            # A choice left out (an optional field) votes for leaving it out.
            decision = vote([v.get(name) for v in given], w)
        if decision is None:
            continue
        confidence = min(confidence, decision.confidence)
        if decision.value is not None:
            settled[name] = decision.value
    return settled, confidence, voted
