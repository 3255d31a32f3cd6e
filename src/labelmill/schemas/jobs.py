"""Background jobs and audit events as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from labelmill.schemas.common import ReadModel


class JobRead(ReadModel):
    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class AuditEventRead(ReadModel):
    id: int
    actor_user_id: int | None
    action: str
    object_type: str
    object_id: int | None
    data: dict[str, Any]
    created_at: datetime
