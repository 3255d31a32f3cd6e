"""What the quality engine remembers between submissions: each worker's skill per project."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, UtcDateTime, utcnow
from labelmill.server.models._types import IdType


class WorkerSkill(Base):
    """A worker's record in one project: gold answers, agreement with completed answers, the
    skill estimated from both (used as the worker's weight), and whether the worker was
    removed from the project for falling below its gold-accuracy threshold.

    Counters only grow; they are updated in the transaction of the submission that changes
    them, rows always locked in worker-id order (no deadlock between two completions).
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
