"""Text collection: forms of fields for writing and collecting (SFT prompt/response writing,
transcription, question answering).

A field is ``text`` (with ``min_length``/``max_length``), ``number`` (``min``/``max``),
``choice`` or ``multi_choice`` (from ``choices``); ``required`` defaults to true. Text is
stripped of surrounding whitespace; multiple choices are normalised to the offered order.

Widget contract: ``worker_view`` gives ``fields`` (their definitions), ``prompt``,
``attachment`` and ``attachment_type``; the widget answers ``{"fields": {name: value}}``,
leaving out optional fields it did not fill.

Settling: choice and number fields are voted with skill weights, text fields matched after
normalising case and whitespace. A form with a text field completes at its label target
whatever the agreement (written text rarely matches word for word; its quality is the review
stage's job); a form without one completes like a vote, at the confidence target or at
``max_labels``.
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
from labelmill.tasktypes.votes import Number, is_number, normalise_text, tidy_number, vote, weights

FieldType = Literal["text", "number", "choice", "multi_choice"]


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: FieldType
    required: bool = True
    description: str = Field(default="", max_length=10_000)
    choices: list[str] | None = Field(default=None, min_length=1, max_length=1_000)
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=1_000_000)
    min: Number | None = None
    max: Number | None = None


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    fields: list[FormField] = Field(min_length=1, max_length=100)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, max_length=1_000_000)
    attachment: str | None = Field(default=None, max_length=1_000_000)
    attachment_type: Literal["text", "image", "audio", "video", "website"] | None = None


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any]


def _check_field(index: int, field: FormField) -> list[tuple[Loc, str]]:
    """A field's settings must suit its type (no ``choices`` on a number, ...)."""
    loc: Loc = ("fields", index)
    problems: list[tuple[Loc, str]] = []
    choosing = field.type in ("choice", "multi_choice")
    if choosing and not field.choices:
        problems.append(((*loc, "choices"), f"a {field.type} field needs choices"))
    if field.choices is not None:
        if not choosing:
            problems.append(((*loc, "choices"), f"a {field.type} field has no choices"))
        elif len(set(field.choices)) != len(field.choices):
            problems.append(((*loc, "choices"), "choices must be unique"))
    for setting, owner in (("min_length", "text"), ("max_length", "text")):
        if getattr(field, setting) is not None and field.type != owner:
            problems.append(((*loc, setting), f"only a {owner} field has {setting}"))
    for setting in ("min", "max"):
        if getattr(field, setting) is not None and field.type != "number":
            problems.append(((*loc, setting), f"only a number field has {setting}"))
    if field.min_length is not None and field.max_length is not None:
        if field.min_length > field.max_length:
            problems.append(((*loc, "max_length"), "max_length is less than min_length"))
    if field.min is not None and field.max is not None and field.min > field.max:
        problems.append(((*loc, "max"), "max is less than min"))
    return problems


def check_value(value: Any, field: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The value in its normal form, and why it is not valid for ``field`` (or None)."""
    kind = field["type"]
    if kind == "text":
        if not isinstance(value, str):
            return value, "must be a text"
        text = value.strip()
        low, high = field.get("min_length"), field.get("max_length")
        if low is not None and len(text) < low:
            return text, f"must be at least {low} characters long"
        if high is not None and len(text) > high:
            return text, f"must be at most {high} characters long"
        if field.get("required", True) and not text:
            return text, "must not be blank"
        return text, None
    if kind == "number":
        if not is_number(value):
            return value, "must be a number"
        low, high = field.get("min"), field.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return value, f"must be within {low} to {high}"
        return tidy_number(value), None
    offered = field.get("choices") or []
    if kind == "choice":
        if value not in offered:
            return value, f"{value!r} is not one of the choices"
        return value, None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value, "must be a list of choices"
    unknown = [v for v in value if v not in offered]
    if unknown:
        return value, f"{unknown} are not choices"
    if len(set(value)) != len(value):
        return value, "a choice is chosen twice"
    if field.get("required", True) and not value:
        return value, "choose at least one"
    return [c for c in offered if c in value], None


def check_fields(
    values: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], loc: Loc
) -> dict[str, Any]:
    """Normalised ``values`` of a form (``loc`` prefixes error locations: ``("fields",)``)."""
    names = {f["name"] for f in fields}
    problems: list[tuple[Loc, str]] = [
        ((*loc, name), f"{name!r} is not a field") for name in values if name not in names
    ]
    clean: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        value = values.get(name)
        if value is None:
            if field.get("required", True):
                problems.append(((*loc, name), "this field is required"))
            continue
        normal, why = check_value(value, field)
        if why is not None:
            problems.append(((*loc, name), why))
        elif normal not in ("", []):  # an optional field left empty is left out
            clean[name] = normal
    if problems:
        raise ParamsError(problems)
    return clean


def value_key(field_type: str, value: Any) -> Hashable:
    """What a field's value votes for: a text normalised (case and whitespace), a choice as
    it is, a number as a float, several choices as a tuple; None when left out."""
    if value is None:
        return None
    if field_type == "text":
        return normalise_text(str(value))
    if field_type == "number":
        return float(value)
    if field_type == "multi_choice":
        return tuple(value)
    return str(value)


def placeholder_value(field: Mapping[str, Any]) -> Any:
    kind = field["type"]
    if kind == "text":
        text = "placeholder".ljust(field.get("min_length") or 0, ".")
        return text[: field.get("max_length") or len(text)]
    if kind == "number":
        low, high = field.get("min"), field.get("max")
        return low if low is not None else (high if high is not None and high < 0 else 0)
    first = field["choices"][0]
    return first if kind == "choice" else [first]


class TextCollection(TaskType):
    name: ClassVar[str] = "text_collection"
    description: ClassVar[str] = (
        "Fill a form of text, number and choice fields: write prompts and responses for SFT, "
        "transcribe, answer questions."
    )
    widget: ClassVar[str] = "text_collection"
    aggregator: ClassVar[str] = (
        "labelmill.quality.vote_confidence per field (choices and numbers weighted; text by "
        "normalised exact match); free text is judged by the review stage"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems = repeated_names([f.name for f in params.fields], "fields", "field")
        for index, field in enumerate(params.fields):
            problems += _check_field(index, field)
        if problems:
            raise ParamsError(problems)
        return {
            "instruction": params.instruction,
            "fields": [f.model_dump(exclude_none=True) for f in params.fields],
        }

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return validate_model(TaskParams, raw).model_dump(exclude_none=True)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        return {"fields": check_fields(response.fields, project_params["fields"], ("fields",))}

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        # Without the project's field types: a string is keyed as a text (a choice's case
        # rarely differs from another offered choice's only by case).
        return tuple(sorted((k, value_key(_kind_of(v), v)) for k, v in response["fields"].items()))

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Choice and number fields take their weighted vote's winner. Text fields are taken
        together from one answer, so that a written prompt and its response stay one
        author's work: the most skilled answer among those whose texts won the most votes.
        Each field's confidence is ``vote_confidence`` of the weight that gave the settled
        value against the rest (a field left out votes for leaving it out); the task's
        confidence is the least of them."""
        if not answers:
            return Settlement(False, None, 0.0)
        w = weights(answers)
        fields = project_params["fields"]
        texts = [f for f in fields if f["type"] == "text"]
        author = answers[self._author(answers, w, texts)].response["fields"]
        settled: dict[str, Any] = {}
        confidence = 1.0
        for field in fields:
            name, kind = field["name"], field["type"]
            values = [a.response["fields"].get(name) for a in answers]
            keys = [value_key(kind, v) for v in values]
            if kind == "text":
                key = value_key(kind, author.get(name))
            else:
                key = vote(keys, w).value
            if key is not None:
                settled[name] = author[name] if kind == "text" else values[keys.index(key)]
            support = sum(wi for k, wi in zip(keys, w, strict=True) if k == key)
            confidence = min(confidence, _confidence(support, sum(w) - support))
        done = bool(texts) or confidence >= confidence_target or at_max_labels
        return Settlement(done, {"fields": settled} if done else None, confidence)

    @staticmethod
    def _author(
        answers: Sequence[Answer], w: Sequence[float], texts: Sequence[Mapping[str, Any]]
    ) -> int:
        """The answer whose text fields carry the most agreeing weight (then the most
        skilled, then the earliest)."""

        def key(i: int, name: str) -> Hashable:
            return value_key("text", answers[i].response["fields"].get(name))

        def backing(i: int) -> float:
            return sum(
                w[j]
                for field in texts
                for j in range(len(answers))
                if key(j, field["name"]) == key(i, field["name"])
            )

        return max(range(len(answers)), key=lambda i: (backing(i), w[i], -i))

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "fields": list(project_params["fields"]),
            "prompt": task_params.get("prompt"),
            "attachment": task_params.get("attachment"),
            "attachment_type": task_params.get("attachment_type"),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"fields": {f["name"]: placeholder_value(f) for f in project_params["fields"]}}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"fields": ""}
        return {"fields": json.dumps(response["fields"], ensure_ascii=False)}


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "multi_choice"
    return "number"


def _confidence(support: float, against: float) -> float:
    from labelmill.quality.pairwise import vote_confidence

    return float(vote_confidence(support, against))
