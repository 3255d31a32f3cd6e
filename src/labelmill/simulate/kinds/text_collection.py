"""Synthetic text collection: short factual questions answered in writing."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind

_FACTS = (
    ("What is the capital of France?", "Paris"),
    ("What is the largest planet?", "Jupiter"),
    ("Who wrote Hamlet?", "William Shakespeare"),
    ("What is the chemical symbol of gold?", "Au"),
    ("How many sides does a hexagon have?", "6"),
)


class SyntheticTextCollection(SyntheticKind):
    task_type: ClassVar[str] = "text_collection"
    project_name: ClassVar[str] = "short answers"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "Answer the question in a few words.",
            "fields": [{"name": "answer", "type": "text", "max_length": 200}],
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        question, answer = rng.choice(_FACTS)
        return {"prompt": question}, {"fields": {"answer": answer}}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            return {"fields": {"answer": "I do not know"}}
        answer = str(truth["fields"]["answer"])
        if not self.right(accuracy, rng):
            answer = rng.choice([a for _, a in _FACTS if a != answer])
        elif rng.random() < 0.3:
            answer = answer.lower() + " "  # case and spacing differ, the answer does not
        return {"fields": {"answer": answer}}
