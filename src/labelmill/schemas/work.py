"""The worker's side: leased tasks, heartbeats, skips and submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from labelmill.schemas.common import ReadModel, Wire


class WorkerProject(ReadModel):
    id: int
    name: str
    task_type: str
    instruction: str


class LeasedTask(ReadModel):
    """A task as a worker sees it: no metadata, no unique id, nothing that marks gold."""

    assignment_id: int
    task_id: int
    project_id: int
    task_type: str
    data: dict[str, Any]
    expires_at: datetime


class Heartbeat(ReadModel):
    assignment_id: int
    expires_at: datetime


class Submission(Wire):
    response: dict[str, Any]
    duration_ms: int | None = Field(default=None, ge=0, le=7 * 24 * 3600 * 1000)


class SubmissionResult(ReadModel):
    annotation_id: int
    task_id: int
    late: bool = Field(description="Submitted after the lease expired (still accepted and paid)")
