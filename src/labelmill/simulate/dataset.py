"""A synthetic categorization data set with known answers, for demos and tests."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

from labelmill.simulate.recruit import TRUTH_KEY

SENTIMENTS: Final = ("positive", "negative", "neutral")

_PRODUCTS = ("headphones", "blender", "desk lamp", "backpack", "kettle", "keyboard", "tent")
_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "positive": (
        "works perfectly and arrived early",
        "is the best purchase I made this year",
        "exceeded every expectation I had",
        "feels solid and does exactly what it promises",
    ),
    "negative": (
        "broke after two days",
        "is a waste of money",
        "stopped working and support never answered",
        "feels cheap and smells of plastic",
    ),
    "neutral": (
        "is fine, nothing special",
        "does the job, no more and no less",
        "arrived as described",
        "is okay for the price",
    ),
}


@dataclass(frozen=True, slots=True)
class SyntheticTask:
    unique_id: str
    text: str
    truth: str
    is_gold: bool

    def as_task(self) -> dict[str, Any]:
        """A ``TaskCreate`` body; the truth sits in metadata (never shown to workers), and
        gold tasks carry it as their known answer."""
        task: dict[str, Any] = {
            "unique_id": self.unique_id,
            "params": {"attachment": self.text, "attachment_type": "text"},
            "metadata": {TRUTH_KEY: self.truth},
        }
        if self.is_gold:
            task["gold_answer"] = {"category": self.truth}
        return task


def review_text(sentiment: str, rng: random.Random) -> str:
    """A one-sentence product review of the given sentiment."""
    return f"The {rng.choice(_PRODUCTS)} {rng.choice(_PHRASES[sentiment])}."


def synthetic_reviews(
    n: int, *, seed: int = 0, gold_fraction: float = 0.05, prefix: str = "review"
) -> list[SyntheticTask]:
    """``n`` short product reviews with a true sentiment each; a ``gold_fraction`` of them
    (at least one when it is positive) are gold tasks."""
    rng = random.Random(seed)
    n_gold = max(1, round(n * gold_fraction)) if gold_fraction > 0 and n else 0
    gold = set(rng.sample(range(n), n_gold)) if n_gold else set()
    tasks = []
    for i in range(n):
        truth = rng.choice(SENTIMENTS)
        tasks.append(SyntheticTask(f"{prefix}-{i + 1}", review_text(truth, rng), truth, i in gold))
    return tasks
