"""Synthetic chat evaluation: two-turn conversations rated per turn and judged overall."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind
from labelmill.simulate.kinds.pairwise_comparison import QUESTIONS


class SyntheticChatEvaluation(SyntheticKind):
    task_type: ClassVar[str] = "chat_evaluation"
    project_name: ClassVar[str] = "conversation review"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "Rate each assistant turn and say whether the conversation resolved.",
            "turn_fields": [{"name": "quality", "type": "rating", "min": 1, "max": 5}],
            "overall_fields": [{"name": "resolved", "type": "choice", "choices": ["yes", "no"]}],
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        messages: list[dict[str, str]] = []
        turns = []
        resolved = "no"
        for _ in range(2):
            prompt, good, bad = rng.choice(QUESTIONS)
            is_good = rng.random() < 0.5
            messages.append({"role": "user", "content": prompt})
            messages.append({"role": "assistant", "content": good if is_good else bad})
            turns.append({"turn": len(messages) - 1, "values": {"quality": 5 if is_good else 1}})
            resolved = "yes" if is_good else "no"  # the last answer decides
        return {"messages": messages}, {"turns": turns, "overall": {"resolved": resolved}}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            neutral = [
                {"turn": i, "values": {"quality": 3}}
                for i, m in enumerate(view["messages"])
                if m["role"] == "assistant"
            ]
            return {"turns": neutral, "overall": {"resolved": "no"}}
        turns: list[dict[str, Any]] = [
            {"turn": t["turn"], "values": dict(t["values"])} for t in truth["turns"]
        ]
        overall = dict(truth["overall"])
        if not self.right(accuracy, rng):
            if rng.random() < 0.5:
                overall["resolved"] = "no" if overall["resolved"] == "yes" else "yes"
            else:
                values: dict[str, Any] = rng.choice(turns)["values"]
                values["quality"] = 6 - int(values["quality"])  # 5 ↔ 1
        return {"turns": turns, "overall": overall}
