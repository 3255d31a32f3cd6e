"""A project's quality report: inter-annotator agreement, task progress and a per-worker table."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from labelmill.schemas.common import ReadModel


class AgreementStats(ReadModel):
    """Agreement over one set of tasks; a figure is ``null`` where it is undefined (no task with
    two answers, or a single answer value throughout)."""

    tasks: int = Field(description="Tasks with at least two answers (the only ones that count)")
    annotations: int = Field(description="Answers on those tasks")
    percent_agreement: float | None
    fleiss_kappa: float | None
    krippendorff_alpha: float | None = Field(description="Nominal level")


class AgreementReport(ReadModel):
    completed: AgreementStats = Field(description="Regular (non-gold) completed tasks")
    all_tasks: AgreementStats = Field(description="Every regular task with two or more answers")
    sampled: bool = Field(
        description="True when only the most recent tasks (see sample_limit) were used"
    )
    sample_limit: int


class TaskStats(ReadModel):
    total: int
    gold: int
    by_status: dict[str, int]
    mean_labels_per_completed: float | None = Field(
        description="Mean number of answers of regular completed tasks"
    )
    mean_confidence_completed: float | None = Field(
        description="Mean confidence of regular completed tasks"
    )


class WorkerQuality(ReadModel):
    worker_id: int
    name: str
    answers: int
    gold_answers: int
    gold_correct: int
    gold_accuracy: float | None
    gold_ci_low: float | None = Field(description="95% Wilson interval; null without gold")
    gold_ci_high: float | None
    compared: int = Field(description="Answers on completed tasks compared with the answer")
    agreed: int
    agreement_rate: float | None
    agreement_ci_low: float | None
    agreement_ci_high: float | None
    skill: float | None = Field(description="Estimated accuracy used as the worker's weight")
    removed_at: datetime | None
    mean_duration_ms: float | None


class ModelScore(ReadModel):
    """One model's standing across a pairwise project (Bradley-Terry over every answer)."""

    model: str
    score: float = Field(description="Bradley-Terry log-strength; the models' mean is 0")
    win_probability: float = Field(
        description="Probability of beating a model of average strength: sigmoid(score)"
    )
    comparisons: int = Field(description="Answers on tasks comparing this model")
    wins: float = Field(description="Answers preferring it; a tie or 'both bad' counts half")


class QualityReport(ReadModel):
    project_id: int
    agreement: AgreementReport
    tasks: TaskStats
    workers: list[WorkerQuality] = Field(description="Most answers first, at most ``limit``")
    workers_total: int
    models: list[ModelScore] = Field(
        default_factory=list,
        description=(
            "Pairwise projects whose tasks name model_a and model_b: the models ranked by "
            "Bradley-Terry strength over every answer, each weighted by its worker's skill "
            "(strongest first); empty otherwise"
        ),
    )
