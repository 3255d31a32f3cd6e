"""Tasks: bulk creation, reading, updating."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field

from labelmill.schemas.common import ReadModel, Wire

TaskStatus = Literal["pending", "completed", "canceled", "error"]


class TaskCreate(Wire):
    params: dict[str, Any] = Field(default_factory=dict)
    unique_id: str | None = Field(default=None, min_length=1, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=100)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    gold_answer: dict[str, Any] | None = Field(
        default=None, description="Known answer: makes this a gold task, hidden from workers."
    )


class TaskBulkCreate(Wire):
    """Up to 10,000 tasks, created atomically: one bad task rejects the whole request."""

    batch_id: int | None = Field(default=None, description="Default: the project's default batch")
    tasks: list[TaskCreate] = Field(min_length=1)


class ExistingTask(ReadModel):
    index: int
    unique_id: str
    task_id: int


class TaskBulkResult(ReadModel):
    created: int
    task_ids: list[int] = Field(description="Ids of the tasks created, in request order")
    existing: list[ExistingTask] = Field(
        default_factory=list, description="Tasks whose unique_id already existed: not created"
    )


class TaskRead(ReadModel):
    id: int
    project_id: int
    batch_id: int
    project_version: int
    params: dict[str, Any]
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("meta", "metadata"))
    tags: list[str]
    unique_id: str | None
    priority: int
    status: TaskStatus
    is_gold: bool
    gold_answer: dict[str, Any] | None
    label_target: int
    n_annotations: int
    response: dict[str, Any] | None
    confidence: float | None
    created_at: datetime
    completed_at: datetime | None


class TaskUpdate(Wire):
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    tags: list[str] | None = Field(default=None, max_length=100)
    metadata: dict[str, Any] | None = None


class AnnotationRead(ReadModel):
    id: int
    task_id: int
    worker_id: int | None
    source: str
    response: dict[str, Any]
    duration_ms: int | None
    late: bool
    created_at: datetime
