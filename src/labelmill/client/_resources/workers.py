"""``client.workers``: worker accounts owned by the calling organization."""

from __future__ import annotations

from labelmill.client._resources._base import Resource
from labelmill.schemas import WorkerCreate, WorkerCreated


class Workers(Resource):
    def create(
        self,
        name: str,
        *,
        email: str | None = None,
        pool_id: int | None = None,
        reviewer: bool = False,
    ) -> WorkerCreated:
        """Create a worker (optionally straight into a pool). The returned ``api_key`` is shown
        only this once."""
        body = WorkerCreate(name=name, email=email, pool_id=pool_id, reviewer=reviewer)
        return self._post("/api/workers", WorkerCreated, json=body.model_dump(mode="json"))
