"""Product reviews of a known sentiment: the text of the synthetic categorization tasks."""

from __future__ import annotations

import random
from typing import Final

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


def review_text(sentiment: str, rng: random.Random) -> str:
    """A one-sentence product review of the given sentiment."""
    return f"The {rng.choice(_PRODUCTS)} {rng.choice(_PHRASES[sentiment])}."
