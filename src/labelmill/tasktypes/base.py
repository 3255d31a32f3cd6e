"""The task-type contract: what a type must say about its params, responses and answers.

A type is pure (pydantic only, no database): it validates a project's params, each task's
params, and each submitted response; it names the answer a response votes for; it renders
the worker's view of a task and a flat row for CSV export; and it makes a valid placeholder
answer for test mode.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """One annotation of a task, as the aggregator sees it."""

    worker_id: int | None
    response: Mapping[str, Any]
    skill: float | None
    """The worker's estimated accuracy in the project; None: unknown (a prior is used)."""
    bias: Mapping[str, float] | None = None
    """For types that correct it (``TaskType.corrects_worker_bias``): the worker's estimated
    offset per criterion, from the project's last re-aggregation; None: not estimated (0)."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """The aggregator's verdict on a task's answers so far."""

    complete: bool
    response: dict[str, Any] | None
    confidence: float


class ParamsError(Exception):
    """Invalid params or response; ``problems`` holds (location, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        self.problems = problems


def repeated_names(names: Sequence[str], where: str, what: str) -> list[tuple[Loc, str]]:
    """A problem at ``(where, index, "name")`` for each name that repeats an earlier one
    (criteria, form fields: each is addressed by its name in responses)."""
    seen: set[str] = set()
    problems: list[tuple[Loc, str]] = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(((where, index, "name"), f"duplicate {what} {name!r}"))
        seen.add(name)
    return problems


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
    widget: ClassVar[str]
    """The annotator UI widget that renders ``worker_view`` and produces a response (the
    widget's data contract: ``worker_view`` in, ``response_schema()`` out)."""
    aggregator: ClassVar[str]
    """The ``labelmill.quality`` function or class that aggregates this type's answers."""
    response_model: ClassVar[type[BaseModel]]
    """The pydantic model of a response (its JSON schema is the widget's output contract)."""
    corrects_worker_bias: ClassVar[bool] = False
    """Whether ``settle`` subtracts each worker's ``Answer.bias`` (numeric ratings): the work
    loop then looks the biases up before settling."""

    def response_schema(self) -> dict[str, Any]:
        """JSON schema of a response, for UI widgets and API clients."""
        return self.response_model.model_json_schema()

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether ``response`` counts as the same answer as ``reference`` (a gold answer or
        the task's aggregated answer), for gold accuracy, agreement-based skill and review.

        Default: equal answer keys. Types whose answers are structured (spans, boxes, ratings)
        override it with a tolerance of their own, which may depend on the project's params
        (a rating criterion's step); without them (None) a type uses a default tolerance.
        """
        return self.answer_key(response) == self.answer_key(reference)

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

    def answer_classes(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> int | None:
        """How many different answers a task allows (None: no fixed number)."""
        return None

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Dynamic overlap on a task that has reached its label target: complete it when the
        aggregated answer's confidence reaches ``confidence_target`` or at ``max_labels``,
        otherwise ask for one more label.

        The default aggregates answer keys with worker weights: the one-coin posterior of
        ``labelmill.quality.should_stop``, each worker's skill as their accuracy. Among
        answers with the winning key, the earliest is the task's response.
        """
        # Imported here: the stopping rule needs numpy, which ``labelmill import`` and other
        # client-side users of task types should not load.
        from labelmill.quality.stopping import DEFAULT_SKILL, should_stop

        if not answers:
            return Settlement(False, None, 0.0)
        keys = [self.answer_key(a.response) for a in answers]
        workers: list[Hashable] = [
            a.worker_id if a.worker_id is not None else f"model-{i}" for i, a in enumerate(answers)
        ]
        skills: dict[Hashable, float] = {
            w: a.skill if a.skill is not None else DEFAULT_SKILL
            for w, a in zip(workers, answers, strict=True)
        }
        decision = should_stop(
            keys,
            workers,
            skills,
            target=confidence_target,
            min_labels=len(answers),
            max_labels=len(answers) if at_max_labels else None,
            n_classes=self.answer_classes(project_params, task_params),
        )
        if not decision.done:
            return Settlement(False, None, decision.confidence)
        winner = keys.index(decision.answer)
        return Settlement(True, dict(answers[winner].response), decision.confidence)
