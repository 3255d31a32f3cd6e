"""The review stage: a reviewer's lease on a completed task, and their decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from labelmill.schemas.common import ReadModel, Wire


class ReviewLeaseRead(ReadModel):
    review_id: int
    task_id: int
    project_id: int
    task_type: str
    data: dict[str, Any] = Field(description="The task as its annotators saw it")
    answer: dict[str, Any] | None = Field(description="The answer under review")
    confidence: float | None
    answers: list[dict[str, Any]] = Field(description="Every annotation, in submission order")
    expires_at: datetime


class ReviewDecision(Wire):
    decision: Literal["accept", "correct", "reject"]
    response: dict[str, Any] | None = Field(
        default=None, description="With 'correct': the right answer, in the task type's shape"
    )


class ReviewDecided(ReadModel):
    review_id: int
    task_id: int
    decision: str
    task_status: str
    response: dict[str, Any] | None
