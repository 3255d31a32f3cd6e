"""Errors raised by the labelmill SDK.

Every error answer of the API (``{"error": {"code", "message", "details"}}``, see ``docs/api.md``)
becomes one exception, chosen by HTTP status. The tree::

    ApiError                  the server answered with an error status; carries ``status_code``,
    │                         ``code``, ``message``, ``details``, ``request`` and ``response``
    ├── MalformedRequestError 400: the body is not valid JSON, or a pagination cursor is bad
    ├── AuthError             401: no API key, or an unknown or revoked one
    ├── ForbiddenError        403: the key may see the object but may not do this
    ├── NotFoundError         404: unknown id, or an id of another organization
    ├── ConflictError         409: the request clashes with the current state
    │                         (batch already completed, task not pending, lease gone, ...)
    ├── PayloadTooLargeError  413: body over the server's limit, or too many tasks at once
    ├── InvalidInputError     422: the content is wrong; ``details`` names each field / task
    └── ServerError           5xx

Any other error status raises a plain ``ApiError``. Network failures (connection refused,
timeouts) are not wrapped: they propagate as ``httpx.TransportError`` subclasses, so that
"the server said no" and "the server could not be reached" stay distinguishable.

Example::

    try:
        client.tasks.create_many(project_id, tasks)
    except InvalidInputError as exc:
        for item in exc.details:
            print(item.loc, item.message)   # e.g. ['tasks', 3, 'params'] 'field required'
"""

from __future__ import annotations

import json
from typing import ClassVar

import httpx
from pydantic import ValidationError

from labelmill.schemas.common import ErrorBody, ErrorItem

__all__ = [
    "ApiError",
    "AuthError",
    "ConflictError",
    "ErrorItem",
    "ForbiddenError",
    "InvalidInputError",
    "MalformedRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ServerError",
    "error_from_response",
]


class ApiError(Exception):
    """The server answered with an error status.

    ``code`` is the stable machine code of the API (``"not_found"``, ``"conflict"``, ...);
    ``message`` is for people; ``details`` lists each bad field or task (``loc`` + ``message``).
    ``request`` and ``response`` are the httpx objects, for logging and debugging.
    """

    status: ClassVar[int | None] = None

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: list[ErrorItem] | None = None,
        *,
        request: httpx.Request,
        response: httpx.Response,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details: list[ErrorItem] = list(details or [])
        self.request = request
        self.response = response

    def __str__(self) -> str:
        text = f"{self.status_code} {self.code}: {self.message}"
        if self.details:
            shown = "; ".join(
                f"{'.'.join(str(part) for part in item.loc)}: {item.message}"
                for item in self.details[:5]
            )
            more = f" (+{len(self.details) - 5} more)" if len(self.details) > 5 else ""
            text += f" [{shown}{more}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.code!r}, {self.message!r})"


class MalformedRequestError(ApiError):
    status = 400


class AuthError(ApiError):
    status = 401


class ForbiddenError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class PayloadTooLargeError(ApiError):
    status = 413


class InvalidInputError(ApiError):
    status = 422


class ServerError(ApiError):
    """Any 5xx answer."""


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        MalformedRequestError,
        AuthError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        InvalidInputError,
    )
    if cls.status is not None
}


def error_from_response(response: httpx.Response) -> ApiError:
    """Build the exception for an error ``response`` (whose body has been read).

    Bodies that are not the API's error envelope (a proxy's HTML page, a framework's
    ``{"detail": ...}``) still give an exception of the right class, with a code made from the
    status (``"http_502"``) and the start of the body as the message.
    """
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    code, message, details = _parse_body(response)
    return cls(status, code, message, details, request=response.request, response=response)


def _parse_body(response: httpx.Response) -> tuple[str, str, list[ErrorItem]]:
    fallback_code = f"http_{response.status_code}"
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()[:500]
        return fallback_code, text or response.reason_phrase, []
    try:
        info = ErrorBody.model_validate(payload).error
    except ValidationError:
        detail = payload.get("detail") if isinstance(payload, dict) else None
        message = detail if isinstance(detail, str) else json.dumps(payload)[:500]
        return fallback_code, message or response.reason_phrase, []
    return info.code, info.message, list(info.details)
