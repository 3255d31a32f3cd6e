"""Scoring an export against the hidden truth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from labelmill.tasktypes import get_task_type


@dataclass(frozen=True, slots=True)
class ExportScore:
    rows: int
    """Exported (completed) tasks."""
    scored: int
    """Of those, tasks whose truth is known."""
    correct: int
    labels: int
    """Sum of ``n_labels`` over the exported tasks."""

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    @property
    def labels_per_task(self) -> float | None:
        return self.labels / self.rows if self.rows else None


def is_right(task_type: str, response: Mapping[str, Any] | None, truth: Any) -> bool:
    """Whether ``response`` agrees with the truth (a category name, or a true response), by
    the task type's own rule (``TaskType.agrees``)."""
    if response is None:
        return False
    if isinstance(truth, str):
        return response.get("category") == truth
    kind = get_task_type(task_type)
    if kind is None:
        raise ValueError(f"unknown task type {task_type!r}")
    return kind.agrees(response, truth)


def score_jsonl_export(
    lines: Iterable[str | bytes], truth: Mapping[str, Any], task_type: str = "categorization"
) -> ExportScore:
    """Compare a JSONL export with the truth (``unique_id → true category or response``)."""
    rows = scored = correct = labels = 0
    for line in lines:
        if not line.strip():
            continue
        row = orjson.loads(line)
        rows += 1
        labels += int(row.get("n_labels") or 0)
        expected = truth.get(row.get("unique_id") or "")
        if expected is None:
            continue
        scored += 1
        correct += is_right(task_type, row.get("response"), expected)
    return ExportScore(rows=rows, scored=scored, correct=correct, labels=labels)
