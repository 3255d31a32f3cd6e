"""A project's quality report (issue 3): agreement between annotators, task progress and one row
per worker.

Counts and means are aggregated in SQL (GROUP BY on task and annotation); the agreement statistics
run in :mod:`labelmill.quality` on the answer keys of the task type, over at most
``SAMPLE_LIMIT`` of the most recent tasks so memory stays bounded on large projects. numpy,
pandas and the statistics are imported when a report is asked for: at import they would add
~1 s to every server start.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from labelmill.schemas.quality import (
    AgreementReport,
    AgreementStats,
    QualityReport,
    TaskStats,
    WorkerQuality,
)
from labelmill.server.models import Annotation, Project, Task, User
from labelmill.server.services import model_scores, worker_skills
from labelmill.server.services.projects import task_type_of

#: Most recent tasks (of each set) whose answers the agreement statistics read.
SAMPLE_LIMIT = 50_000
#: Default and largest number of rows of the worker table.
DEFAULT_WORKER_LIMIT = 100
MAX_WORKER_LIMIT = 1000


def _finite(value: float | None) -> float | None:
    """``None`` for an undefined figure (NaN or infinite): JSON has no NaN."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def agreement_stats(answers: Iterable[tuple[Hashable, Hashable, Hashable]]) -> AgreementStats:
    """Agreement of ``(task, worker, answer key)`` triples; tasks with one answer are ignored."""
    import pandas as pd

    from labelmill.quality import fleiss_kappa, krippendorff_alpha, percent_agreement

    codes: dict[Hashable, int] = {}  # answer keys may be tuples or sets: count integer codes
    rows = [(task, worker, codes.setdefault(key, len(codes))) for task, worker, key in answers]
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    pairable = frame[frame.groupby("task")["task"].transform("size") >= 2] if rows else frame
    if pairable.empty:
        return AgreementStats(
            tasks=0,
            annotations=0,
            percent_agreement=None,
            fleiss_kappa=None,
            krippendorff_alpha=None,
        )
    return AgreementStats(
        tasks=int(pairable["task"].nunique()),
        annotations=len(pairable),
        percent_agreement=_finite(percent_agreement(pairable)),
        fleiss_kappa=_finite(fleiss_kappa(pairable)),
        krippendorff_alpha=_finite(krippendorff_alpha(pairable, level="nominal")),
    )


def _answers_of(
    session: Session, project: Project, task_ids: Select[Any]
) -> list[tuple[int, int, Hashable]]:
    """Human answers on the tasks ``task_ids`` selects, as (task, worker, answer key)."""
    task_type = task_type_of(project.task_type)
    sample = task_ids.subquery()
    rows = session.execute(
        select(Annotation.task_id, Annotation.worker_id, Annotation.response)
        .join(sample, sample.c.id == Annotation.task_id)
        .where(Annotation.worker_id.is_not(None))
    )
    return [
        (task_id, worker_id, task_type.answer_key(response))
        for task_id, worker_id, response in rows
    ]


def _agreement(session: Session, project: Project, completed: int) -> AgreementReport:
    regular = (Task.project_id == project.id, Task.is_gold.is_(False))
    completed_ids = (
        select(Task.id)
        .where(*regular, Task.status == "completed")
        .order_by(Task.completed_at.desc(), Task.id.desc())
        .limit(SAMPLE_LIMIT)
    )
    pairable_filter = (*regular, Task.n_annotations >= 2)
    pairable_total = session.scalar(select(func.count()).where(*pairable_filter)) or 0
    pairable_ids = (
        select(Task.id).where(*pairable_filter).order_by(Task.id.desc()).limit(SAMPLE_LIMIT)
    )
    return AgreementReport(
        completed=agreement_stats(_answers_of(session, project, completed_ids)),
        all_tasks=agreement_stats(_answers_of(session, project, pairable_ids)),
        sampled=completed > SAMPLE_LIMIT or pairable_total > SAMPLE_LIMIT,
        sample_limit=SAMPLE_LIMIT,
    )


def _task_stats(session: Session, project: Project) -> tuple[TaskStats, int]:
    """The task figures, and how many regular tasks are completed."""
    rows = session.execute(
        select(
            Task.status,
            Task.is_gold,
            func.count(),
            func.sum(Task.n_annotations),
            func.sum(Task.confidence),
            func.count(Task.confidence),
        )
        .where(Task.project_id == project.id)
        .group_by(Task.status, Task.is_gold)
    ).all()
    by_status: dict[str, int] = {}
    total = gold = 0
    completed = labels = confidences = 0
    confidence_sum = 0.0
    for status, is_gold, count, n_labels, conf_sum, conf_count in rows:
        by_status[status] = by_status.get(status, 0) + int(count)
        total += int(count)
        if is_gold:
            gold += int(count)
        elif status == "completed":
            completed = int(count)
            labels = int(n_labels or 0)
            confidence_sum = float(conf_sum or 0.0)
            confidences = int(conf_count)
    stats = TaskStats(
        total=total,
        gold=gold,
        by_status=by_status,
        mean_labels_per_completed=labels / completed if completed else None,
        mean_confidence_completed=confidence_sum / confidences if confidences else None,
    )
    return stats, completed


def _rate(
    successes: Sequence[int], trials: Sequence[int]
) -> list[tuple[float | None, float | None, float | None]]:
    """Per row: rate and 95% Wilson interval, all ``None`` without trials."""
    import numpy as np

    from labelmill.quality import wilson_interval

    if not trials:
        return []
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    low, high = wilson_interval(x, n)
    return [
        (float(x[i] / n[i]), float(low[i]), float(high[i])) if n[i] > 0 else (None, None, None)
        for i in range(len(trials))
    ]


def _workers(session: Session, project: Project, limit: int) -> tuple[list[WorkerQuality], int]:
    human = (Annotation.project_id == project.id, Annotation.worker_id.is_not(None))
    total = session.scalar(select(func.count(func.distinct(Annotation.worker_id))).where(*human))
    answers = func.count(Annotation.id)
    rows = session.execute(
        select(
            Annotation.worker_id,
            User.name,
            answers,
            func.sum(case((Task.is_gold, 1), else_=0)),
            func.sum(case((Annotation.gold_correct.is_(True), 1), else_=0)),
            func.avg(Annotation.duration_ms),
        )
        .join(Task, Task.id == Annotation.task_id)
        .join(User, User.id == Annotation.worker_id)
        .where(*human)
        .group_by(Annotation.worker_id, User.name)
        .order_by(answers.desc(), Annotation.worker_id)
        .limit(limit)
    ).all()
    skills = {
        row.worker_id: row for row in worker_skills.project_skills(session.connection(), project.id)
    }
    compared = [int(getattr(skills.get(r[0]), "compared", 0)) for r in rows]
    agreed = [int(getattr(skills.get(r[0]), "agreed", 0)) for r in rows]
    gold_rates = _rate([int(r[4] or 0) for r in rows], [int(r[3] or 0) for r in rows])
    agreement_rates = _rate(agreed, compared)
    table = []
    for i, (worker_id, name, n, gold_n, gold_ok, duration) in enumerate(rows):
        skill = skills.get(worker_id)
        table.append(
            WorkerQuality(
                worker_id=worker_id,
                name=name,
                answers=int(n),
                gold_answers=int(gold_n or 0),
                gold_correct=int(gold_ok or 0),
                gold_accuracy=gold_rates[i][0],
                gold_ci_low=gold_rates[i][1],
                gold_ci_high=gold_rates[i][2],
                compared=compared[i],
                agreed=agreed[i],
                agreement_rate=agreement_rates[i][0],
                agreement_ci_low=agreement_rates[i][1],
                agreement_ci_high=agreement_rates[i][2],
                skill=_finite(skill.skill) if skill is not None else None,
                removed_at=skill.removed_at if skill is not None else None,
                mean_duration_ms=_finite(float(duration)) if duration is not None else None,
            )
        )
    return table, int(total or 0)


def project_report(
    *, session: Session, project: Project, worker_limit: int = DEFAULT_WORKER_LIMIT
) -> QualityReport:
    """The quality report of ``project`` (already loaded for the caller's organization)."""
    tasks, completed_regular = _task_stats(session, project)
    workers, workers_total = _workers(session, project, worker_limit)
    return QualityReport(
        project_id=project.id,
        agreement=_agreement(session, project, completed_regular),
        tasks=tasks,
        workers=workers,
        workers_total=workers_total,
        models=model_scores.model_scores(session, project),
    )
