"""Dataset snapshots: every export of a project, its recipe, the answers' version it saw, and
its bytes (stored in the database in chunks, so any server process can serve it again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType

DATASET_STATES = ("building", "ready")
"""``building``: chunks are being written (or the process writing them died); ``ready``: the
file is complete and its hash, size and row count are final."""


class Dataset(Base):
    """One export of a project, frozen.

    The answers' version is what the export saw: the project's params version, the newest
    answer revision of the project (re-aggregation writes one per changed answer), and, over
    the exported tasks, the highest task id, the latest ``updated_at`` (every submission,
    review decision, revision and task update sets it) and the latest ``completed_at``.
    Two exports with the same recipe and the same version hold the same answers; the content
    hash identifies the bytes themselves.
    """

    __tablename__ = "dataset"
    __table_args__ = (Index("ix_dataset_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="building")
    # The recipe: format and its options, and the filters.
    format: Mapped[str] = mapped_column(String(50))
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status_filter: Mapped[str] = mapped_column(String(20))
    include_gold: Mapped[bool] = mapped_column(Boolean)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch.id", ondelete="SET NULL"), default=None
    )
    # The answers' version.
    params_version: Mapped[int] = mapped_column(Integer)
    answer_revision_id: Mapped[int | None] = mapped_column(IdType, default=None)
    max_task_id: Mapped[int | None] = mapped_column(IdType, default=None)
    tasks_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # The file.
    media_type: Mapped[str] = mapped_column(String(100))
    file_extension: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_size: Mapped[int] = mapped_column(IdType, default=0)
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    created_by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_key.id", ondelete="SET NULL"), default=None
    )
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    @property
    def filename(self) -> str:
        return f"project-{self.project_id}-dataset-{self.id}.{self.file_extension}"

    @property
    def filters(self) -> dict[str, Any]:
        return {
            "status": self.status_filter,
            "include_gold": self.include_gold,
            "batch_id": self.batch_id,
        }

    @property
    def answers_version(self) -> dict[str, Any]:
        return {
            "params_version": self.params_version,
            "answer_revision_id": self.answer_revision_id,
            "max_task_id": self.max_task_id,
            "tasks_updated_at": self.tasks_updated_at,
            "last_completed_at": self.last_completed_at,
        }


class DatasetChunk(Base):
    """``seq``-th piece of a dataset's file (about 1 MiB each), in order from 0."""

    __tablename__ = "dataset_chunk"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
