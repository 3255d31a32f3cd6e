"""What the quality engine remembers: each worker's skill per project, and every revision of a
completed answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType


class WorkerSkill(Base):
    """A worker's record in one project: gold answers, agreement with completed answers, the
    skill estimated from both (used as the worker's weight), and whether the worker was
    removed from the project for falling below its gold-accuracy threshold.

    Counters are updated in the transaction that changes them (a submission; a review or a
    re-aggregation that changes an answer moves its comparisons, so ``compared``/``agreed`` may
    also fall), rows always locked in worker-id order (no deadlock between two completions).
    """

    __tablename__ = "worker_skill"
    __table_args__ = (UniqueConstraint("project_id", "worker_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    gold_answers: Mapped[int] = mapped_column(Integer, default=0)
    gold_correct: Mapped[int] = mapped_column(Integer, default=0)
    compared: Mapped[int] = mapped_column(Integer, default=0)
    """Answers on tasks that completed, compared with the completed answer."""
    agreed: Mapped[int] = mapped_column(Integer, default=0)
    skill: Mapped[float] = mapped_column(Float)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rating_bias: Mapped[dict[str, float] | None] = mapped_column(JsonType, default=None)
    """Rating projects: the worker's offset per criterion from the last re-aggregation."""


class AnswerRevision(Base):
    """A completed task's answer changed by a later decision (project-wide re-aggregation),
    with the value it replaced: answers are never overwritten without a trace."""

    __tablename__ = "answer_revision"
    __table_args__ = (Index("ix_answer_revision_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL"), default=None
    )
    method: Mapped[str] = mapped_column(String(50))
    old_response: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    new_response: Mapped[dict[str, Any]] = mapped_column(JsonType)
    old_confidence: Mapped[float | None] = mapped_column(Float)
    new_confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


REVIEW_STATUSES = ("pending", "in_review", "accepted", "corrected", "rejected")
"""``task.review_status``: None (not sent to review) or one of these."""


class Review(Base):
    """A reviewer's lease on a completed task and their decision: accept, correct (the
    correction becomes the answer) or reject (the task goes back for more labels)."""

    __tablename__ = "review"
    __table_args__ = (
        Index("ix_review_project_status", "project_id", "status"),
        Index("ix_review_reviewer_project", "reviewer_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="leased")
    """leased → decided | expired"""
    decision: Mapped[str | None] = mapped_column(String(20), default=None)
    old_response: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    leased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
