"""The task-type contract: what a type must say about its params, responses and answers.

A type is pure (pydantic only, no database): it validates a project's params, each task's
params, and each submitted response; it names the answer a response votes for; it renders
the worker's view of a task and a flat row for CSV export; and it makes a valid placeholder
answer for test mode.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]


class ParamsError(Exception):
    """Invalid params or response; ``problems`` holds (location, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        self.problems = problems


def validate_model(model: type[BaseModel], raw: object) -> BaseModel:
    """Validate ``raw`` against ``model``, turning pydantic's error into a ``ParamsError``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(
            [(tuple(err["loc"]), str(err["msg"])) for err in exc.errors(include_url=False)]
        ) from None


class TaskType(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def validate_project_params(self, raw: object) -> dict[str, Any]:
        """Normalised project params, or ``ParamsError``."""

    @abstractmethod
    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Normalised per-task params (checked against the project's), or ``ParamsError``."""

    @abstractmethod
    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Normalised response, or ``ParamsError`` naming the bad field."""

    @abstractmethod
    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        """The value a response votes for: equal keys mean the same answer."""

    @abstractmethod
    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What an annotator sees: never metadata, unique ids or gold answers."""

    @abstractmethod
    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A valid answer, used by test mode and simulations."""

    @abstractmethod
    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        """The answer as flat string columns, for CSV export."""
