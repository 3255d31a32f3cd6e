"""Synthetic ratings: answers of known quality rated for helpfulness on 1-5."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind
from labelmill.simulate.kinds.pairwise_comparison import QUESTIONS


class SyntheticRating(SyntheticKind):
    task_type: ClassVar[str] = "rating"
    project_name: ClassVar[str] = "answer helpfulness"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "How helpful is this answer?",
            "criteria": [{"name": "helpfulness", "min": 1, "max": 5}],
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        prompt, good, bad = rng.choice(QUESTIONS)
        is_good = rng.random() < 0.5
        score = rng.choice((4, 5)) if is_good else rng.choice((1, 2))
        return {"prompt": prompt, "text": good if is_good else bad}, {
            "ratings": {"helpfulness": score}
        }

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            return {"ratings": {"helpfulness": rng.randint(1, 5)}}
        score = int(truth["ratings"]["helpfulness"])
        if not self.right(accuracy, rng):
            score = min(max(score + rng.choice((-2, 2)), 1), 5)  # a clear misjudgement
        return {"ratings": {"helpfulness": score}}
