"""The one place that sends requests: authentication, timeouts, error mapping, JSON decoding."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel

from labelmill import __version__
from labelmill.client.errors import error_from_response

ModelT = TypeVar("ModelT", bound=BaseModel)

AuthScheme = Literal["bearer", "basic"]
QueryValue = str | int | float | bool | None
Query = Mapping[str, QueryValue]


def auth_header(api_key: str, scheme: AuthScheme) -> str:
    """``Authorization`` value: Bearer, or Basic with the key as user name and no password
    (Scale's convention, for proxies that only pass Basic through)."""
    if scheme == "bearer":
        return f"Bearer {api_key}"
    if scheme == "basic":
        return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode("ascii")
    raise ValueError(f"auth_scheme must be 'bearer' or 'basic', not {scheme!r}")


def clean_query(params: Query | None) -> dict[str, str | int | float | bool]:
    """Drop filters that were not given (``None``), so the server applies no filter for them."""
    return {key: value for key, value in (params or {}).items() if value is not None}


def parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    # by_name: read models such as TaskRead declare ``validation_alias="meta"`` for the ORM
    # attribute, while the JSON on the wire uses the field name ``metadata``.
    return model.model_validate(response.json(), by_name=True)


class HttpSession:
    """A thin wrapper over ``httpx.Client`` that raises ``ApiError`` for error answers."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        auth_scheme: AuthScheme,
        transport: httpx.BaseTransport | None,
        timeout: httpx.Timeout | float | None,
    ) -> None:
        self._client = httpx.Client(
            base_url=_root_url(base_url),
            headers={
                "Authorization": auth_header(api_key, auth_scheme),
                "User-Agent": f"labelmill-python/{__version__}",
                "Accept": "application/json",
            },
            transport=transport,
            timeout=timeout,
        )

    @property
    def base_url(self) -> httpx.URL:
        return self._client.base_url

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        response = self._client.request(
            method, path, params=clean_query(params), json=json, content=content, headers=headers
        )
        if response.is_error:
            raise error_from_response(response)
        return response

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: Query | None = None
    ) -> Iterator[httpx.Response]:
        with self._client.stream(method, path, params=clean_query(params)) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            yield response


def _root_url(base_url: str) -> str:
    """Accept both ``http://host:8000`` and ``http://host:8000/api``: routes carry ``/api``."""
    url = base_url.rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    return url
