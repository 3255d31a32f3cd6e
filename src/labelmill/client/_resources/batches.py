"""``client.batches``: groups of tasks that start and complete together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.schemas import BatchCounts, BatchCreate, BatchRead, Page


class Batches(Resource):
    def create(
        self,
        project_id: int,
        name: str,
        *,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        start: bool = False,
    ) -> BatchRead:
        """Create a batch in ``staging`` (or ``in_progress`` at once with ``start=True``)."""
        body = BatchCreate(
            name=name, callback_url=callback_url, metadata=metadata or {}, start=start
        )
        return self._post(
            f"/api/projects/{project_id}/batches", BatchRead, json=body.model_dump(mode="json")
        )

    def get(self, batch_id: int) -> BatchRead:
        return self._get(f"/api/batches/{batch_id}", BatchRead)

    def list(
        self, project_id: int, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[BatchRead]:
        return self._page(
            f"/api/projects/{project_id}/batches", BatchRead, cursor=cursor, limit=limit
        )

    def iter(self, project_id: int, *, page_size: int | None = None) -> Iterator[BatchRead]:
        return iterate_pages(lambda cursor: self.list(project_id, cursor=cursor, limit=page_size))

    def start(self, batch_id: int) -> BatchRead:
        """``staging → in_progress``: its tasks become available to workers."""
        return self._post(f"/api/batches/{batch_id}/start", BatchRead)

    def counts(self, batch_id: int) -> BatchCounts:
        """How many of the batch's tasks are in each status."""
        return self._get(f"/api/batches/{batch_id}/counts", BatchCounts)
