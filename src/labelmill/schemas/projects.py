"""Projects, their params versions, and batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from labelmill.schemas.common import ReadModel, Wire


class QualitySettings(Wire):
    min_labels: int = Field(default=1, ge=1, le=100)
    max_labels: int | None = Field(default=None, ge=1, le=100)
    gold_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    lease_seconds: int | None = Field(default=None, ge=5, le=86_400)
    confidence_target: float = Field(
        default=0.95,
        ge=0.5,
        le=1.0,
        description="Dynamic overlap: a task at its label target completes once its answer's "
        "confidence reaches this, or at max_labels; otherwise it gets one more label.",
    )
    match_overlap: int = Field(
        default=0,
        ge=0,
        le=20,
        description="k > 0: keep confidence_target at the value that makes dynamic overlap as "
        "accurate as fixed overlap k with this project's crowd, computed from the workers' "
        "skills (labelmill.quality.fixed_overlap_target) and refreshed as they change; on "
        "real data it matched fixed overlap 5 with 36-41% fewer labels. 0: set by hand.",
    )
    skill_threshold: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Remove a worker from the project when their gold accuracy falls below "
        "this after min_gold_answers gold answers (0: never).",
    )
    min_gold_answers: int = Field(default=5, ge=1, le=10_000)
    review_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of completed tasks sent to review."
    )
    review_below: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Completed tasks with a confidence under this always go to review.",
    )

    @model_validator(mode="after")
    def _max_not_below_min(self) -> QualitySettings:
        if self.max_labels is not None and self.max_labels < self.min_labels:
            raise ValueError("max_labels must be >= min_labels")
        return self


class ProjectCreate(QualitySettings):
    name: str = Field(min_length=1, max_length=200)
    task_type: str = Field(min_length=1, max_length=50)
    params: dict[str, Any]


class ProjectUpdate(Wire):
    """Fields left out stay as they are. New ``params`` make a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    min_labels: int | None = Field(default=None, ge=1, le=100)
    max_labels: int | None = Field(default=None, ge=1, le=100)
    gold_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    lease_seconds: int | None = Field(default=None, ge=5, le=86_400)
    confidence_target: float | None = Field(default=None, ge=0.5, le=1.0)
    match_overlap: int | None = Field(default=None, ge=0, le=20)
    skill_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    min_gold_answers: int | None = Field(default=None, ge=1, le=10_000)
    review_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    review_below: float | None = Field(default=None, ge=0.0, le=1.0)


class ProjectRead(ReadModel):
    id: int
    org_id: int
    name: str
    task_type: str
    params: dict[str, Any]
    params_version: int
    min_labels: int
    max_labels: int
    gold_rate: float
    lease_seconds: int
    # Defaults: what a server from before these settings behaves as.
    confidence_target: float = 0.95
    match_overlap: int = 0
    skill_threshold: float = 0.0
    min_gold_answers: int = 5
    review_rate: float = 0.0
    review_below: float = 0.0
    created_at: datetime
    updated_at: datetime


class ProjectVersionRead(ReadModel):
    version: int
    params: dict[str, Any]
    created_at: datetime


class BatchCreate(Wire):
    name: str = Field(min_length=1, max_length=200)
    callback_url: str | None = Field(default=None, max_length=2000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    start: bool = Field(default=False, description="Start at once (skip the staging state).")


BatchStatus = Literal["staging", "in_progress", "completed"]


class BatchRead(ReadModel):
    id: int
    project_id: int
    name: str
    status: BatchStatus
    callback_url: str | None
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("meta", "metadata"))
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class BatchCounts(ReadModel):
    pending: int
    completed: int
    canceled: int
    error: int
