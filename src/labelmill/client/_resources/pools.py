"""``client.pools``: workforce pools and their members."""

from __future__ import annotations

from collections.abc import Iterator

from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.schemas import Page, PoolCreate, PoolMemberAdd, PoolMemberRead, PoolRead


class Pools(Resource):
    def create(self, name: str) -> PoolRead:
        return self._post("/api/pools", PoolRead, json=PoolCreate(name=name).model_dump())

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page[PoolRead]:
        """The organization's pools and the platform's shared pools."""
        return self._page("/api/pools", PoolRead, cursor=cursor, limit=limit)

    def iter(self, *, page_size: int | None = None) -> Iterator[PoolRead]:
        return iterate_pages(lambda cursor: self.list(cursor=cursor, limit=page_size))

    def add_member(
        self, pool_id: int, user_id: int, *, annotator: bool = True, reviewer: bool = False
    ) -> PoolMemberRead:
        body = PoolMemberAdd(user_id=user_id, annotator=annotator, reviewer=reviewer)
        return self._post(f"/api/pools/{pool_id}/members", PoolMemberRead, json=body.model_dump())

    def remove_member(self, pool_id: int, user_id: int) -> None:
        self._delete(f"/api/pools/{pool_id}/members/{user_id}")
