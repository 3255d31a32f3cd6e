"""Workforce pools, their members, and which pools staff which project."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, UtcDateTime, utcnow
from labelmill.server.models._types import IdType


class WorkforcePool(Base):
    """A named set of workers. ``org_id`` None: a platform pool that the installation's admin
    manages and that any organization may staff its projects with (the Scale model)."""

    __tablename__ = "workforce_pool"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PoolMember(Base):
    __tablename__ = "pool_member"
    __table_args__ = (UniqueConstraint("pool_id", "user_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("workforce_pool.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    is_annotator: Mapped[bool] = mapped_column(Boolean, default=True)
    is_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)


class ProjectStaffing(Base):
    __tablename__ = "project_staffing"
    __table_args__ = (UniqueConstraint("project_id", "pool_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    pool_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_pool.id", ondelete="CASCADE"), index=True
    )
