"""Synthetic image annotation: street scenes with cars and people as boxes."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from labelmill.simulate.kinds.base import SyntheticKind

_WIDTH, _HEIGHT = 640, 480


class SyntheticImageAnnotation(SyntheticKind):
    task_type: ClassVar[str] = "image_annotation"
    project_name: ClassVar[str] = "street scenes"

    def project_params(self) -> dict[str, Any]:
        return {
            "instruction": "Draw a box around every car and every person.",
            "objects": [
                {"label": "car", "geometry": "box"},
                {"label": "person", "geometry": "box"},
            ],
        }

    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        boxes = []
        for _ in range(rng.randint(1, 3)):
            width, height = rng.randint(40, 200), rng.randint(40, 200)
            boxes.append(
                {
                    "label": rng.choice(("car", "person")),
                    "type": "box",
                    "left": rng.randint(0, _WIDTH - width),
                    "top": rng.randint(0, _HEIGHT - height),
                    "width": width,
                    "height": height,
                }
            )
        # The address is never fetched: the simulator answers from the truth.
        params = {
            "image": f"https://images.invalid/street/{index}.jpg",
            "width": _WIDTH,
            "height": _HEIGHT,
        }
        return params, {"annotations": boxes}

    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        if truth is None:
            return {"annotations": []}
        boxes = []
        for box in truth["annotations"]:
            jittered = dict(box)
            # Everyone draws a little off; the aggregate averages that out.
            for side, limit in (("left", _WIDTH), ("top", _HEIGHT)):
                size = "width" if side == "left" else "height"
                jittered[side] = min(max(box[side] + rng.randint(-3, 3), 0), limit - box[size])
            boxes.append(jittered)
        if boxes and not self.right(accuracy, rng):
            victim = rng.randrange(len(boxes))
            if rng.random() < 0.5:
                del boxes[victim]
            else:
                boxes[victim]["label"] = "person" if boxes[victim]["label"] == "car" else "car"
        return {"annotations": boxes}
