"""The audit log: who did what to which object, written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.models import AuditEvent
from labelmill.server.services.auth import Principal
from labelmill.server.services.pagination import Cursor, page_of


def record(
    *,
    session: Session,
    actor: Principal | None,
    org_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            org_id=org_id,
            actor_user_id=actor.user_id if actor else None,
            actor_key_id=actor.key_id if actor else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            data=data or {},
        )
    )


def list_events(
    *, session: Session, org_id: int, cursor: Cursor, action: str | None = None
) -> tuple[list[AuditEvent], str | None]:
    query = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return page_of(session, query, AuditEvent.id, cursor)
