"""Maps task-type names to their implementation. New types register here."""

from __future__ import annotations

from labelmill.tasktypes.base import TaskType
from labelmill.tasktypes.categorization import Categorization
from labelmill.tasktypes.chat_evaluation import ChatEvaluation
from labelmill.tasktypes.image_annotation import ImageAnnotation
from labelmill.tasktypes.pairwise_comparison import PairwiseComparison
from labelmill.tasktypes.ranking import Ranking
from labelmill.tasktypes.rating import Rating
from labelmill.tasktypes.text_collection import TextCollection
from labelmill.tasktypes.text_spans import TextSpans

_REGISTRY: dict[str, TaskType] = {}


def register(task_type: TaskType) -> None:
    _REGISTRY[task_type.name] = task_type


def get_task_type(name: str) -> TaskType | None:
    return _REGISTRY.get(name)


def task_type_names() -> list[str]:
    return sorted(_REGISTRY)


register(Categorization())
register(PairwiseComparison())
register(Ranking())
register(Rating())
register(TextCollection())
register(ChatEvaluation())
register(TextSpans())
register(ImageAnnotation())
