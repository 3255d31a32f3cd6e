"""Tasks: one unit of work each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType

TASK_STATUSES = ("pending", "completed", "canceled", "error")


class Task(Base):
    """A task, with the counters the work queue decides on.

    ``open_leases`` and ``n_annotations`` live on the task row on purpose: every change to a
    task's slots locks this row, so on PostgreSQL a concurrent ``FOR UPDATE`` re-checks the
    slot condition against the newest row version (a count over ``assignment`` would be read
    from a stale snapshot). Invariant: ``open_leases + n_annotations <= label_target``.
    """

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("org_id", "unique_id"),
        Index("ix_task_project_status_id", "project_id", "status", "id"),
        Index("ix_task_batch_status", "batch_id", "status"),
        Index("ix_task_project_review", "project_id", "review_status"),
        # Scale's task listing is organization-wide, newest first.
        Index("ix_task_org_id_id", "org_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    project_version: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)
    tags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    unique_id: Mapped[str | None] = mapped_column(String(500), default=None)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Active-learning score; higher is served first among equal priorities. 0 when unset.
    al_score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_answer: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    label_target: Mapped[int] = mapped_column(Integer)
    n_annotations: Mapped[int] = mapped_column(Integer, default=0)
    open_leases: Mapped[int] = mapped_column(Integer, default=0)
    response: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    # None, or where the task is in the review stage (models.quality.REVIEW_STATUSES).
    review_status: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # Where the task's events are POSTed (through the outbox), and whether that succeeded:
    # None until a delivery finished, then True, or False once every retry failed.
    callback_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    callback_succeeded: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # Created with a test key: completed at once with a placeholder answer.
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    # The customer's audit of the delivered answer (Scale's customer_review_status).
    customer_review_status: Mapped[str | None] = mapped_column(String(20), default=None)
    # How the task was asked for through the Scale-compatible API: its Scale type, params with
    # their defaults and task-level instruction (None for tasks created natively).
    scale_request: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)


# The work queue scans this index in serving order: priority, then active-learning score, then
# the tasks closest to completion (finish what is started), then oldest first.
Index(
    "ix_task_queue",
    Task.project_id,
    Task.is_gold,
    Task.status,
    Task.priority.desc(),
    Task.al_score.desc(),
    Task.n_annotations.desc(),
    Task.id,
)
