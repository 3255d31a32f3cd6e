"""A synthetic data set with known answers, and a noisy annotator, for one task type.

``labelmill demo --type TYPE`` and the simulator use these to run the whole loop on any type:
tasks carry their true answer (a response of the type) in metadata, never shown to workers;
an annotator of accuracy ``a`` answers the truth with probability ``a`` and otherwise makes
one of the type's typical mistakes (a wrong choice, a missed entity, a box off by a lot, two
responses swapped).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar


class SyntheticKind(ABC):
    task_type: ClassVar[str]
    project_name: ClassVar[str]

    @abstractmethod
    def project_params(self) -> dict[str, Any]:
        """Params of the demo project."""

    @abstractmethod
    def task(self, index: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
        """Task ``index``'s params and its true response."""

    @abstractmethod
    def answer(
        self,
        view: Mapping[str, Any],
        truth: Mapping[str, Any] | None,
        accuracy: float,
        rng: random.Random,
    ) -> dict[str, Any]:
        """A response to the task shown as ``view``: the truth with probability ``accuracy``,
        otherwise a plausible mistake; a valid guess when the truth is unknown."""

    @staticmethod
    def right(accuracy: float, rng: random.Random) -> bool:
        return rng.random() < accuracy
