"""Projects, their versioned params, and batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType

BATCH_STATUSES = ("staging", "in_progress", "completed")


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[str] = mapped_column(String(50))
    params_version: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    min_labels: Mapped[int] = mapped_column(Integer, default=1)
    max_labels: Mapped[int] = mapped_column(Integer, default=1)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)
    lease_seconds: Mapped[int] = mapped_column(Integer, default=300)
    # Dynamic overlap: a task at its label target completes once its answer's confidence
    # reaches this (or at max_labels); otherwise its target grows by one.
    confidence_target: Mapped[float] = mapped_column(Float, default=0.95)
    # When k > 0, confidence_target is kept at the value that makes dynamic overlap match
    # fixed overlap k with this project's crowd (services/overlap_target); 0: set by hand.
    match_overlap: Mapped[int] = mapped_column(Integer, default=0)
    # A worker whose gold accuracy falls below this after min_gold_answers gold answers is
    # removed from the project; 0 never removes anyone.
    skill_threshold: Mapped[float] = mapped_column(Float, default=0.0)
    min_gold_answers: Mapped[int] = mapped_column(Integer, default=5)
    # Review stage: this share of completed tasks, and every task completed with a confidence
    # under review_below, waits for a reviewer before its batch can complete.
    review_rate: Mapped[float] = mapped_column(Float, default=0.0)
    review_below: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectVersion(Base):
    """Every params version a project has had; tasks record the version they were made under."""

    __tablename__ = "project_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )


class Batch(Base):
    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="staging")
    callback_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
