"""Synthetic preference pairs: a question, a good answer and a poor one, in random order."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind

QUESTIONS = (
    (
        "How do I boil an egg?",
        "Put it in boiling water for 9 minutes, then cool it.",
        "Eggs are from chickens.",
    ),
    ("What is 12 x 12?", "144.", "About a hundred, give or take."),
    ("Name a prime number above 10.", "11 is prime.", "Prime numbers are numbers."),
    ("How do I reverse a list in Python?", "Use reversed(xs) or xs[::-1].", "Python is a snake."),
    ("What causes tides?", "Mostly the Moon's gravity.", "The wind pushes the sea."),
)


class SyntheticPairwise(SyntheticKind):
    task_type: ClassVar[str] = "pairwise_comparison"
    project_name: ClassVar[str] = "assistant preferences"

    def project_params(self) -> dict[str, Any]:
        return {"instruction": "Which response answers the prompt better?"}

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        prompt, good, bad = rng.choice(QUESTIONS)
        good_first = rng.random() < 0.5
        params = {
            "prompt": prompt,
            "response_a": good if good_first else bad,
            "response_b": bad if good_first else good,
            "model_a": "model-good" if good_first else "model-bad",
            "model_b": "model-bad" if good_first else "model-good",
        }
        return params, {"choice": "a" if good_first else "b"}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            return {"choice": rng.choice(("a", "b"))}
        if self.right(accuracy, rng):
            return {"choice": truth["choice"]}
        return {"choice": "b" if truth["choice"] == "a" else "a"}
