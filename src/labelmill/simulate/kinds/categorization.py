"""Synthetic categorization: product reviews and their sentiment."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.dataset import SENTIMENTS, review_text
from labelmill.simulate.kinds.base import SyntheticKind


class SyntheticCategorization(SyntheticKind):
    task_type: ClassVar[str] = "categorization"
    project_name: ClassVar[str] = "product review sentiment"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "What is the sentiment of this product review?",
            "categories": list(SENTIMENTS),
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        truth = rng.choice(SENTIMENTS)
        params = {"attachment": review_text(truth, rng), "attachment_type": "text"}
        return params, {"category": truth}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        choices = [str(c) for c in view["choices"]]
        true = None if truth is None else truth.get("category")
        if true not in choices:
            return {"category": rng.choice(choices)}
        if self.right(accuracy, rng):
            return {"category": true}
        return {"category": rng.choice([c for c in choices if c != true] or choices)}
