"""Synthetic named-entity spans: template sentences with people, organisations and places."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind

_ENTITIES = {
    "PER": ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine Johnson", "Edsger Dijkstra"),
    "ORG": ("Acme Corp", "the United Nations", "Globex", "Initech", "the Red Cross"),
    "LOC": ("Paris", "Nairobi", "Lima", "Osaka", "the Alps"),
}
_TEMPLATES = (
    ("PER", " joined ", "ORG", " in ", "LOC", "."),
    ("PER", " flew to ", "LOC", " to meet ", "PER", "."),
    ("ORG", " opened an office in ", "LOC", "."),
    ("In ", "LOC", ", ", "PER", " spoke about ", "ORG", "."),
)


class SyntheticTextSpans(SyntheticKind):
    task_type: ClassVar[str] = "text_spans"
    project_name: ClassVar[str] = "news entities"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "Mark every person, organisation and place.",
            "labels": ["PER", "ORG", "LOC"],
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        text = ""
        spans: list[dict[str, Any]] = []
        for part in rng.choice(_TEMPLATES):
            if part in _ENTITIES:
                name = rng.choice(_ENTITIES[part])
                spans.append({"start": len(text), "end": len(text) + len(name), "label": part})
                text += name
            else:
                text += part
        return {"text": text}, {"spans": spans, "relations": []}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            return {"spans": [], "relations": []}
        spans = [dict(s) for s in truth["spans"]]
        if spans and not self.right(accuracy, rng):
            victim = rng.randrange(len(spans))
            mistake = rng.choice(("miss", "label", "boundary"))
            if mistake == "miss":
                del spans[victim]
            elif mistake == "label":
                labels = [x for x in view["labels"] if x != spans[victim]["label"]]
                spans[victim]["label"] = rng.choice(labels) if labels else spans[victim]["label"]
            elif spans[victim]["end"] - spans[victim]["start"] > 1:
                spans[victim]["end"] -= 1  # stops one character short
        return {"spans": spans, "relations": []}
