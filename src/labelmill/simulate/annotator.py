"""One simulated annotator: answers a leased task correctly with a fixed probability.

The model is the one-coin model of crowdsourcing (each worker is right with probability
``accuracy``; when wrong, it picks uniformly among the other options), the model that
one-coin Dawid-Skene assumes, so aggregators can be checked against known worker quality.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from labelmill.schemas import LeasedTask
from labelmill.simulate.kinds import synthetic_kind


class UnsupportedTaskType(ValueError):
    """The simulator has no answering model for this task type."""


def parse_accuracies(text: str) -> list[float]:
    """``"0.8"`` or ``"0.6,0.95"`` → the listed accuracies, each checked to be in [0, 1]."""
    values: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"accuracy {part!r} is not a number") from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"accuracy {value} is not between 0 and 1")
        values.append(value)
    if not values:
        raise ValueError("no accuracy given")
    return values


def spread_accuracies(values: Sequence[float], n: int) -> list[float]:
    """Accuracies for ``n`` workers from the given ones.

    One value: every worker has it. Several: they are sorted and read as the knots of a
    piecewise-linear ramp from the lowest to the highest, sampled at ``n`` evenly spaced
    points, so ``[0.6, 0.95]`` gives a workforce from 0.6 to 0.95 and ``n`` values give
    exactly those values.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not values:
        raise ValueError("no accuracy given")
    knots = sorted(values)
    if len(knots) == 1 or n == 1:
        return [knots[0] if len(knots) == 1 else sum(knots) / len(knots)] * n
    spread: list[float] = []
    for i in range(n):
        position = i / (n - 1) * (len(knots) - 1)
        low = min(int(position), len(knots) - 2)
        fraction = position - low
        spread.append(round(knots[low] + fraction * (knots[low + 1] - knots[low]), 6))
    return spread


class SimulatedAnnotator:
    """Answers tasks: the truth with probability ``accuracy``, otherwise a mistake.

    Categorization: one of the other offered categories uniformly; a uniform guess when the
    truth is unknown. The truth is a category name, or a response. Other types: the mistakes
    of their synthetic kind (``labelmill.simulate.kinds``); the truth is a response."""

    def __init__(self, accuracy: float, *, seed: int | None = None) -> None:
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError("accuracy must be between 0 and 1")
        self.accuracy = accuracy
        self._rng = random.Random(seed)

    def answer(self, task: LeasedTask, truth: Any) -> dict[str, Any]:
        if task.task_type != "categorization" or task.data.get("multiple"):
            kind = synthetic_kind(task.task_type)
            if kind is None or task.task_type == "categorization":
                raise UnsupportedTaskType(f"cannot simulate answers to {task.task_type!r} tasks")
            return kind.answer(task.data, truth, self.accuracy, self._rng)
        if isinstance(truth, Mapping):
            truth = truth.get("category")
        categories = [str(c) for c in task.data.get("choices") or task.data.get("categories", [])]
        if not categories:
            raise UnsupportedTaskType("the task offers no categories")
        return {"category": self.choose(categories, truth)}

    def choose(self, options: Sequence[str], truth: str | None) -> str:
        if truth is None or truth not in options:
            return self._rng.choice(list(options))
        if self._rng.random() < self.accuracy:
            return truth
        others = [option for option in options if option != truth]
        return self._rng.choice(others) if others else truth
