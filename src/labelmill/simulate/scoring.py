"""Scoring an export against the hidden truth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson


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


def score_jsonl_export(lines: Iterable[str | bytes], truth: Mapping[str, str]) -> ExportScore:
    """Compare a categorization JSONL export (``unique_id → true category`` in ``truth``)."""
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
        response = row.get("response") or {}
        correct += response.get("category") == expected
    return ExportScore(rows=rows, scored=scored, correct=correct, labels=labels)
