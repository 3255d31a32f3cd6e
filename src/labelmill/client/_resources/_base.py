"""What every resource class shares: the HTTP session and typed helpers."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from labelmill.client._http import HttpSession, Query, parse
from labelmill.schemas.common import Page

ModelT = TypeVar("ModelT", bound=BaseModel)


class Resource:
    def __init__(self, http: HttpSession) -> None:
        self._http = http

    def _get(self, path: str, model: type[ModelT], *, params: Query | None = None) -> ModelT:
        return parse(model, self._http.request("GET", path, params=params))

    def _post(self, path: str, model: type[ModelT], *, json: Any = None) -> ModelT:
        return parse(model, self._http.request("POST", path, json=json))

    def _patch(self, path: str, model: type[ModelT], *, json: Any) -> ModelT:
        return parse(model, self._http.request("PATCH", path, json=json))

    def _delete(self, path: str) -> None:
        self._http.request("DELETE", path)

    def _page(
        self,
        path: str,
        item: type[ModelT],
        *,
        cursor: str | None,
        limit: int | None,
        params: Query | None = None,
    ) -> Page[ModelT]:
        query = {**(params or {}), "cursor": cursor, "limit": limit}
        return self._get(path, Page[item], params=query)  # type: ignore[valid-type]
