"""Bradley-Terry standings of the models a pairwise project compares (DESIGN.md §6: pairwise
answers are a weighted vote per pair, and Bradley-Terry across items).

Each task compares ``model_a``'s response with ``model_b``'s; every annotation is one
comparison, weighted by its worker's skill in the project, a tie or "both bad" half a win each
way. The most recent ``ANSWER_LIMIT`` annotations are read, so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.schemas.quality import ModelScore
from labelmill.server.models import Annotation, Project, Task, WorkerSkill

#: Most recent annotations the standings read.
ANSWER_LIMIT = 200_000
PAIRWISE_TYPE = "pairwise_comparison"


def model_scores(session: Session, project: Project) -> list[ModelScore]:
    """The models of ``project`` ranked by strength; empty for other task types or when its
    tasks name no two different models."""
    if project.task_type != PAIRWISE_TYPE:
        return []
    # Only the three strings needed: a task's params hold both responses, up to 1 MB each.
    rows = session.execute(
        select(
            Annotation.worker_id,
            Annotation.response["choice"].as_string(),
            Task.params["model_a"].as_string(),
            Task.params["model_b"].as_string(),
        )
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.project_id == project.id,
            Annotation.worker_id.is_not(None),
            ~Task.is_gold,
        )
        .order_by(Annotation.id.desc())
        .limit(ANSWER_LIMIT)
    ).all()
    comparisons = [c for c in (_comparison(*row) for row in rows) if c is not None]
    if not comparisons:
        return []
    skills: dict[Hashable, float] = dict(
        session.execute(
            select(WorkerSkill.worker_id, WorkerSkill.skill).where(
                WorkerSkill.project_id == project.id
            )
        ).all()
    )
    import pandas as pd  # here: the server does not load pandas until a report needs it

    from labelmill.quality import aggregate_pairwise

    data = pd.DataFrame(comparisons, columns=["worker", "left", "right", "label"])
    scores = aggregate_pairwise(data, skills=skills).scores
    counts: dict[str, int] = {}
    wins: dict[str, float] = {}
    for _worker, left, right, label in comparisons:
        for model in (left, right):
            counts[model] = counts.get(model, 0) + 1
            wins[model] = wins.get(model, 0.0) + (0.5 if label is None else float(label == model))
    standings = [
        ModelScore(
            model=str(model),
            score=float(score),
            win_probability=1.0 / (1.0 + math.exp(-float(score))),
            comparisons=counts[str(model)],
            wins=wins[str(model)],
        )
        for model, score in zip(scores.index.tolist(), scores.tolist(), strict=True)
    ]
    return sorted(standings, key=lambda s: (-s.score, s.model))


def _comparison(
    worker_id: int, choice: str | None, left: str | None, right: str | None
) -> tuple[int, str, str, str | None] | None:
    """``(worker, left model, right model, preferred model or None for a tie)``."""
    if not left or not right or left == right:
        return None
    label = left if choice == "a" else right if choice == "b" else None
    return worker_id, left, right, label
