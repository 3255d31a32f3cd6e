"""One simulated annotator: answers a leased task correctly with a fixed probability.

The model is the one-coin model of crowdsourcing (each worker is right with probability
``accuracy``; when wrong, it picks uniformly among the other options), the model that
one-coin Dawid-Skene assumes, so aggregators can be checked against known worker quality.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
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

    The mistakes are those of the type's synthetic kind (``labelmill.simulate.kinds``; for
    categorization, one of the other offered categories uniformly), and a valid guess when
    the truth is unknown. The truth is a response, or for categorization a category name."""

    def __init__(self, accuracy: float, *, seed: int | None = None) -> None:
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError("accuracy must be between 0 and 1")
        self.accuracy = accuracy
        self._rng = random.Random(seed)

    def answer(self, task: LeasedTask, truth: Any) -> dict[str, Any]:
        kind = synthetic_kind(task.task_type)
        # Multiple choice has no synthetic kind of its own: its answers are sets.
        if kind is None or task.data.get("multiple"):
            raise UnsupportedTaskType(f"cannot simulate answers to {task.task_type!r} tasks")
        if isinstance(truth, str):  # `labelmill simulate` reads true category names
            truth = {"category": truth}
        return kind.answer(task.data, truth, self.accuracy, self._rng)
