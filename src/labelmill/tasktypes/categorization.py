"""Categorization: pick one category, or several, for an attachment.

Categories are a flat list or a hierarchical taxonomy (nodes with ``children``); names are
unique over the whole tree so an answer is just a name. Only leaves are offered unless the
project sets ``allow_internal``. The attachment is text, an image URL, a web page URL or a
chat transcript (a list of ``{"role", "content"}`` messages).

Widget contract: ``worker_view`` gives ``categories`` (the tree, to draw the hierarchy),
``choices`` (the selectable names in taxonomy order), ``multiple``, ``attachment`` and
``attachment_type``; the widget answers ``{"category": name}``, or with ``multiple``
``{"categories": [name, ...]}``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from labelmill.tasktypes.base import (
    Answer,
    ParamsError,
    Settlement,
    TaskType,
    validate_model,
)


class CategoryNode(BaseModel):
    """An inner node (or a leaf) of a hierarchical taxonomy."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    children: list[str | CategoryNode] = Field(default_factory=list, max_length=1_000)


Category = str | CategoryNode


def _walk(categories: Sequence[Category | Mapping[str, Any]]) -> Iterator[tuple[str, bool]]:
    """(name, is_leaf) of every node, depth first in the given order."""
    for entry in categories:
        if isinstance(entry, str):
            yield entry, True
        elif isinstance(entry, CategoryNode):
            yield entry.name, not entry.children
            yield from _walk(entry.children)
        else:
            children = entry.get("children") or []
            yield str(entry["name"]), not children
            yield from _walk(children)


def _check_choices(categories: Sequence[Category], *, allow_internal: bool) -> None:
    """Names non-blank and unique over the whole tree, and at least two to choose from."""
    seen: set[str] = set()
    for name, _leaf in _walk(categories):
        if not name.strip():
            raise ParamsError([(("categories",), "category names must not be blank")])
        if name in seen:
            raise ParamsError([(("categories",), f"duplicate category {name!r}")])
        seen.add(name)
    if len(selectable(categories, allow_internal=allow_internal)) < 2:
        raise ParamsError([(("categories",), "categories must offer at least two choices")])


def selectable(categories: Sequence[Any], *, allow_internal: bool) -> list[str]:
    """The names an annotator may choose, in taxonomy order."""
    return [name for name, leaf in _walk(categories) if leaf or allow_internal]


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    categories: list[Category] = Field(min_length=1, max_length=1_000)
    multiple: bool = False
    allow_internal: bool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=1_000_000)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked against ``attachment_type`` by ``_check_attachment`` (a union here would name
    # pydantic's union members, not the field, in its errors).
    attachment: Any = None
    attachment_type: Literal["text", "image", "website", "chat"] = "text"
    # A task may narrow or replace the project's categories.
    categories: list[Category] | None = Field(default=None, min_length=1, max_length=1_000)


_CHAT = TypeAdapter(list[ChatMessage])


def _check_attachment(attachment: Any, attachment_type: str) -> Any:
    """The attachment in its normal form: a string, or for ``chat`` a list of messages."""
    if attachment is None:
        return None
    if attachment_type != "chat":
        if not isinstance(attachment, str):
            raise ParamsError([(("attachment",), f"a {attachment_type} attachment is a string")])
        if len(attachment) > 1_000_000:
            raise ParamsError([(("attachment",), "longer than 1,000,000 characters")])
        return attachment
    if not isinstance(attachment, list) or not attachment:
        raise ParamsError([(("attachment",), "a chat attachment is a non-empty list of messages")])
    try:
        messages = _CHAT.validate_python(attachment)
    except ValidationError as exc:
        raise ParamsError(
            [(("attachment", *e["loc"]), str(e["msg"])) for e in exc.errors(include_url=False)]
        ) from None
    return [m.model_dump() for m in messages]


class Response(BaseModel):
    """One choice (projects without ``multiple``)."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1)


class MultipleResponse(BaseModel):
    """One or more choices (projects with ``multiple``)."""

    model_config = ConfigDict(extra="forbid")

    categories: list[str] = Field(min_length=1, max_length=1_000)


class Categorization(TaskType):
    name: ClassVar[str] = "categorization"
    description: ClassVar[str] = (
        "Pick one category (or several) from a list or a taxonomy for a text, image, web page "
        "or chat transcript."
    )
    widget: ClassVar[str] = "categorization"
    aggregator: ClassVar[str] = (
        "labelmill.quality.posterior_one_coin (one choice; per category with multiple)"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def response_schema(self) -> dict[str, Any]:
        return {
            "oneOf": [Response.model_json_schema(), MultipleResponse.model_json_schema()],
            "description": "{'category'} for single choice; {'categories'} when multiple",
        }

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        _check_choices(params.categories, allow_internal=params.allow_internal)
        return params.model_dump()

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        params = validate_model(TaskParams, raw)
        assert isinstance(params, TaskParams)
        attachment = _check_attachment(params.attachment, params.attachment_type)
        if params.categories is not None:
            allow_internal = bool(project_params.get("allow_internal"))
            _check_choices(params.categories, allow_internal=allow_internal)
        clean = params.model_dump(exclude_none=True)
        if attachment is not None:
            clean["attachment"] = attachment
        return clean

    def _choices(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> list[str]:
        categories = task_params.get("categories") or project_params["categories"]
        return selectable(categories, allow_internal=bool(project_params.get("allow_internal")))

    def _multiple(self, project_params: Mapping[str, Any]) -> bool:
        return bool(project_params.get("multiple"))

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        choices = self._choices(project_params, task_params)
        if not self._multiple(project_params):
            single = validate_model(Response, raw)
            assert isinstance(single, Response)
            if single.category not in choices:
                raise ParamsError(
                    [(("category",), f"{single.category!r} is not one of the offered categories")]
                )
            return single.model_dump()
        several = validate_model(MultipleResponse, raw)
        assert isinstance(several, MultipleResponse)
        offered = set(choices)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for index, name in enumerate(several.categories):
            if name not in offered:
                problems.append((("categories", index), f"{name!r} is not an offered category"))
            elif name in seen:
                problems.append((("categories", index), f"{name!r} is chosen twice"))
            seen.add(name)
        if problems:
            raise ParamsError(problems)
        # Taxonomy order, so equal choices are equal responses whatever the click order.
        return {"categories": [name for name in choices if name in seen]}

    def answer_classes(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> int | None:
        # Several choices are a set, not one of K classes: project-wide Dawid-Skene does not
        # apply, and the per-category votes of ``settle`` decide.
        if self._multiple(project_params):
            return None
        return len(self._choices(project_params, task_params))

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        if "categories" in response:
            return tuple(str(c) for c in response["categories"])
        return str(response["category"])

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        if not self._multiple(project_params):
            return super().settle(
                answers,
                project_params=project_params,
                task_params=task_params,
                confidence_target=confidence_target,
                at_max_labels=at_max_labels,
            )
        return self._settle_multiple(
            answers,
            choices=self._choices(project_params, task_params),
            confidence_target=confidence_target,
            at_max_labels=at_max_labels,
        )

    @staticmethod
    def _settle_multiple(
        answers: Sequence[Answer],
        *,
        choices: list[str],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Each category any worker chose is a yes/no question, decided by the same one-coin
        posterior as a single choice (binary-relevance reduction); the set's confidence is the
        probability that every decision is right, taking them as independent."""
        from labelmill.quality.stopping import DEFAULT_SKILL, posterior_one_coin

        if not answers:
            return Settlement(False, None, 0.0)
        workers: list[Hashable] = [
            a.worker_id if a.worker_id is not None else f"model-{i}" for i, a in enumerate(answers)
        ]
        skills = {
            w: a.skill if a.skill is not None else DEFAULT_SKILL
            for w, a in zip(workers, answers, strict=True)
        }
        chosen = [set(a.response["categories"]) for a in answers]
        mentioned = {c for s in chosen for c in s}
        kept: list[str] = []
        confidence = 1.0
        for category in choices:
            if category not in mentioned:
                continue
            votes = [category in s for s in chosen]
            posterior = posterior_one_coin(votes, workers, skills, n_classes=2)
            yes = posterior.get(True, 1.0 - posterior.get(False, 0.0))
            if yes >= 0.5:
                kept.append(category)
            confidence *= max(yes, 1.0 - yes)
        if not kept:
            # Every category lost its vote; the answer must still name one: the best supported.
            kept = [max(choices, key=lambda c: sum(c in s for s in chosen))]
        done = confidence >= confidence_target or at_max_labels
        return Settlement(done, {"categories": kept} if done else None, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "categories": task_params.get("categories") or project_params["categories"],
            "choices": self._choices(project_params, task_params),
            "multiple": self._multiple(project_params),
            "attachment": task_params.get("attachment"),
            "attachment_type": task_params.get("attachment_type", "text"),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        first = self._choices(project_params, task_params)[0]
        if self._multiple(project_params):
            return {"categories": [first]}
        return {"category": first}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"category": ""}
        if "categories" in response:
            return {"category": "|".join(str(c) for c in response["categories"])}
        return {"category": str(response["category"])}
