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
