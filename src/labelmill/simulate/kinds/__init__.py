"""Synthetic data sets with known answers and noisy annotators, one per task type."""

from __future__ import annotations

from labelmill.simulate.kinds.base import SyntheticKind
from labelmill.simulate.kinds.categorization import SyntheticCategorization
from labelmill.simulate.kinds.chat_evaluation import SyntheticChatEvaluation
from labelmill.simulate.kinds.image_annotation import SyntheticImageAnnotation
from labelmill.simulate.kinds.pairwise_comparison import SyntheticPairwise
from labelmill.simulate.kinds.ranking import SyntheticRanking
from labelmill.simulate.kinds.rating import SyntheticRating
from labelmill.simulate.kinds.text_collection import SyntheticTextCollection
from labelmill.simulate.kinds.text_spans import SyntheticTextSpans

_KINDS: dict[str, SyntheticKind] = {
    kind.task_type: kind
    for kind in (
        SyntheticCategorization(),
        SyntheticTextSpans(),
        SyntheticImageAnnotation(),
        SyntheticPairwise(),
        SyntheticRanking(),
        SyntheticRating(),
        SyntheticTextCollection(),
        SyntheticChatEvaluation(),
    )
}


def synthetic_kind(task_type: str) -> SyntheticKind | None:
    return _KINDS.get(task_type)


def synthetic_kind_names() -> list[str]:
    return sorted(_KINDS)


__all__ = ["SyntheticKind", "synthetic_kind", "synthetic_kind_names"]
