"""Dataset snapshots: the recipe of an export, and the frozen file's description."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from labelmill.schemas.common import ReadModel, Wire

ExportStatusFilter = Literal["completed", "all"]


class DatasetCreate(Wire):
    """``POST /api/projects/{id}/datasets``: export the project now and keep the file."""

    format: str = Field(
        default="jsonl",
        min_length=1,
        max_length=50,
        description="jsonl, csv, or any export format registered for the project's task type "
        "(GET /api/task-types lists them)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="the format's own options (jsonl and csv take none)"
    )
    status: ExportStatusFilter = Field(
        default="completed", description="only completed tasks, or every task"
    )
    include_gold: bool = False
    batch_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="only this batch's tasks"
    )


class DatasetFilters(ReadModel):
    status: ExportStatusFilter
    include_gold: bool
    batch_id: int | None


class AnswersVersion(ReadModel):
    """What the export saw of the answers: the project's params version, its newest answer
    revision, and over the exported tasks the highest id and the latest update and
    completion times. Any answer that changes moves at least one of them."""

    params_version: int
    answer_revision_id: int | None
    max_task_id: int | None
    tasks_updated_at: datetime | None
    last_completed_at: datetime | None


class DatasetRead(ReadModel):
    id: int
    project_id: int
    state: Literal["building", "ready"]
    format: str
    options: dict[str, Any]
    filters: DatasetFilters
    answers_version: AnswersVersion
    media_type: str
    filename: str
    row_count: int
    byte_size: int
    sha256: str | None
    created_at: datetime
    created_by_user_id: int | None
    created_by_key_id: int | None
    finished_at: datetime | None
