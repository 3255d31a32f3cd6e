"""Categorization: pick one category for an attachment (text, image URL or web page)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from labelmill.tasktypes.base import ParamsError, TaskType, validate_model


def _unique_categories(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if not value.strip():
            raise ValueError("categories must not be blank")
        if value in seen:
            raise ValueError(f"duplicate category {value!r}")
        seen.add(value)
    return values


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    categories: list[str] = Field(min_length=2, max_length=1_000)

    _unique = field_validator("categories")(_unique_categories)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attachment: str | None = Field(default=None, max_length=1_000_000)
    attachment_type: Literal["text", "image", "website"] = "text"
    # A task may narrow or replace the project's categories.
    categories: list[str] | None = Field(default=None, min_length=2, max_length=1_000)

    _unique = field_validator("categories")(
        lambda values: None if values is None else _unique_categories(values)
    )


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1)


class Categorization(TaskType):
    name: ClassVar[str] = "categorization"
    description: ClassVar[str] = "Pick one category from a list."
    widget: ClassVar[str] = "categorization"
    aggregator: ClassVar[str] = "labelmill.quality.should_stop (one-coin posterior)"
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        return validate_model(ProjectParams, raw).model_dump()

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return validate_model(TaskParams, raw).model_dump(exclude_none=True)

    def _categories(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> list[str]:
        categories = task_params.get("categories") or project_params["categories"]
        return list(categories)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        categories = self._categories(project_params, task_params)
        if response.category not in categories:
            raise ParamsError(
                [(("category",), f"{response.category!r} is not one of the offered categories")]
            )
        return response.model_dump()

    def answer_classes(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> int | None:
        return len(self._categories(project_params, task_params))

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        return str(response["category"])

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "categories": self._categories(project_params, task_params),
            "attachment": task_params.get("attachment"),
            "attachment_type": task_params.get("attachment_type", "text"),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"category": self._categories(project_params, task_params)[0]}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        return {"category": "" if response is None else str(response["category"])}
