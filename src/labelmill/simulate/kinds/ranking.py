"""Synthetic rankings: four answers of clearly different quality, shuffled."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind

_ANSWERS = (
    "Water boils at 100 °C at sea level.",
    "Water boils at about 100 degrees.",
    "Water gets hot and bubbles.",
    "Water is wet.",
)


class SyntheticRanking(SyntheticKind):
    task_type: ClassVar[str] = "ranking"
    project_name: ClassVar[str] = "answer ranking"

    def project_params(self) -> dict[str, Any]:
        return {"instruction": "Order the answers from best to worst."}

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        order = list(range(len(_ANSWERS)))
        rng.shuffle(order)  # order[k]: which quality level sits at position k
        responses = [_ANSWERS[level] for level in order]
        best_first = sorted(range(len(order)), key=lambda position: order[position])
        params = {"prompt": "At what temperature does water boil?", "responses": responses}
        return params, {"ranking": [[position] for position in best_first]}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            order = list(range(len(view["responses"])))
            rng.shuffle(order)
            return {"ranking": [[i] for i in order]}
        tiers = [list(t) for t in truth["ranking"]]
        if not self.right(accuracy, rng):
            k = rng.randrange(len(tiers) - 1)
            tiers[k], tiers[k + 1] = tiers[k + 1], tiers[k]  # two neighbours swapped
        return {"ranking": tiers}
