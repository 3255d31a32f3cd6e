"""``client.jobs`` and ``client.audit``: background work and the audit trail (read-only)."""

from __future__ import annotations

from collections.abc import Iterator

from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.schemas import AuditEventRead, JobRead, Page


class Jobs(Resource):
    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[JobRead]:
        """One page of the organization's background jobs, filtered by ``kind``/``status``."""
        return self._page(
            "/api/jobs",
            JobRead,
            cursor=cursor,
            limit=limit,
            params={"kind": kind, "status": status},
        )

    def iter(
        self, *, kind: str | None = None, status: str | None = None, page_size: int | None = None
    ) -> Iterator[JobRead]:
        return iterate_pages(
            lambda cursor: self.list(kind=kind, status=status, cursor=cursor, limit=page_size)
        )


class Audit(Resource):
    def list(
        self, *, action: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[AuditEventRead]:
        """One page of the organization's audit events, optionally only those of one
        ``action`` (e.g. ``"project.create"``). Owners and managers only."""
        return self._page(
            "/api/audit", AuditEventRead, cursor=cursor, limit=limit, params={"action": action}
        )

    def iter(
        self, *, action: str | None = None, page_size: int | None = None
    ) -> Iterator[AuditEventRead]:
        return iterate_pages(
            lambda cursor: self.list(action=action, cursor=cursor, limit=page_size)
        )
