"""Assignments (leases of a task to a worker) and annotations (answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType

ASSIGNMENT_STATUSES = ("leased", "submitted", "expired", "skipped")


class Assignment(Base):
    """A lease of a task to one worker.

    One row per (task, worker) ever: the unique constraint is what guarantees that a worker
    never holds two leases on the same task (invariant 1).
    """

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("task_id", "worker_id"),
        Index("ix_assignment_status_expires", "status", "expires_at"),
        Index("ix_assignment_worker_project_status", "worker_id", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="leased")
    leased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Annotation(Base):
    """One answer to a task. Immutable once written.

    The unique (task, worker) constraint guarantees a worker never annotates a task twice
    (invariant 1); model annotations have no worker.
    """

    __tablename__ = "annotation"
    __table_args__ = (
        UniqueConstraint("task_id", "worker_id"),
        Index("ix_annotation_project_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id", ondelete="SET NULL"), default=None, unique=True
    )
    worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None, index=True
    )
    source: Mapped[str] = mapped_column(String(20), default="human")
    response: Mapped[dict[str, Any]] = mapped_column(JsonType)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # For gold tasks: whether the answer matched the known one (never shown to workers).
    gold_correct: Mapped[bool | None] = mapped_column(Boolean, default=None)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
