"""Tasks: bulk creation, reading, updating."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from labelmill.schemas.common import ReadModel, Wire

TaskStatus = Literal["pending", "completed", "canceled", "error"]
MAX_CALLBACK_URL = 2000


def check_callback_url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or None. Scale also accepts an e-mail address
    (the JSON is mailed); labelmill sends no mail, so that is refused rather than lost."""
    if value is None:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL (e-mail callbacks are not sent)")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if not host or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be an absolute URL with a host, without spaces or control codes")
    return value


class TaskCreate(Wire):
    params: dict[str, Any] = Field(default_factory=dict)
    unique_id: str | None = Field(default=None, min_length=1, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=100)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    gold_answer: dict[str, Any] | None = Field(
        default=None, description="Known answer: makes this a gold task, hidden from workers."
    )
    callback_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CALLBACK_URL,
        description=(
            "http(s) URL POSTed with the task when it completes, errs, is audited or is "
            "recalled; header scale-callback-auth carries the organization's callback key."
        ),
    )

    @field_validator("callback_url")
    @classmethod
    def _http_callback(cls, value: str | None) -> str | None:
        return check_callback_url(value)


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
    callback_url: str | None = None
    callback_succeeded: bool | None = Field(
        default=None,
        description="None until a callback delivery finished; then whether the last one succeeded",
    )
    is_test: bool = False


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
