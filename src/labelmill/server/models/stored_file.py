"""Files uploaded (or imported from a URL) to be used as task attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelmill.server.db.base import Base, JsonType, UtcDateTime, utcnow
from labelmill.server.models._types import IdType


class StoredFile(Base):
    """A file of an organization. Its bytes are kept in ``stored_file_chunk`` (as dataset
    snapshots are), so any server process sharing the database can serve it.

    ``public_id`` is the random identifier clients see (sequential ids would tell one
    organization how many files the others have); ``reference_id`` is the client's own
    idempotency key, unique per organization.
    """

    __tablename__ = "stored_file"
    __table_args__ = (UniqueConstraint("org_id", "reference_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    reference_id: Mapped[str | None] = mapped_column(String(500), default=None)
    display_name: Mapped[str | None] = mapped_column(String(500), default=None)
    mime_type: Mapped[str] = mapped_column(String(200))
    byte_size: Mapped[int] = mapped_column(IdType, default=0)
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    # Where an imported file was fetched from (None for uploads).
    source_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)
    project_names: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StoredFileChunk(Base):
    """``seq``-th piece of a file (about 1 MiB each), in order from 0."""

    __tablename__ = "stored_file_chunk"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_file.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
