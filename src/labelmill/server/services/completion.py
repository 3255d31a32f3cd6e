"""Deciding a task's answer from its annotations (until the quality engine replaces it).

Majority vote over the task type's answer keys. A task completes when it has reached its
label target and the vote has a single winner; on a tie its target grows by one, up to the
project's ``max_labels``, where the earliest-reached of the tied answers wins.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Decision:
    complete: bool
    response: dict[str, Any] | None
    confidence: float


def majority_decision(
    responses: Sequence[Mapping[str, Any]],
    keys: Sequence[Hashable],
    *,
    at_max_labels: bool,
) -> Decision:
    """``responses`` in submission order with their answer ``keys``."""
    if not responses:
        return Decision(False, None, 0.0)
    counts: dict[Hashable, int] = {}
    first_index: dict[Hashable, int] = {}
    for index, key in enumerate(keys):
        counts[key] = counts.get(key, 0) + 1
        first_index.setdefault(key, index)
    best = max(counts.values())
    leaders = [key for key, count in counts.items() if count == best]
    confidence = best / len(keys)
    if len(leaders) > 1 and not at_max_labels:
        return Decision(False, None, confidence)
    winner = min(leaders, key=lambda key: first_index[key])
    return Decision(True, dict(responses[first_index[winner]]), confidence)
