"""Refuse request bodies over the configured size before they are read into memory.

The limit is ``max_bytes`` (``settings.max_body_bytes``), except on the paths of
``PATH_LIMITS``, which take files and get at least their own limit: Scale's file upload
allows 80 MB per file, more than the default 64 MiB. A refusal is a 413 in the shape of the
API asked: the native error body under ``/api``, Scale's ``{"status_code", "error"}`` under
``/v1`` (the SDK reads ``error``).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelmill.server.services.files import MAX_FILE_BYTES, UPLOAD_BODY_SLACK

PATH_LIMITS: Mapping[str, int] = {"/v1/files/upload": MAX_FILE_BYTES + UPLOAD_BODY_SLACK}
"""Paths whose body may be larger than the general limit (the file plus its form fields)."""

SCALE_PREFIX = "/v1"


class BodyTooLarge(Exception):
    pass


def is_scale_path(path: str) -> bool:
    return path == SCALE_PREFIX or path.startswith(SCALE_PREFIX + "/")


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(PATH_LIMITS if path_limits is None else path_limits)

    def limit_for(self, path: str) -> int:
        special = self.path_limits.get(path.rstrip("/") or "/")
        return self.max_bytes if special is None else max(self.max_bytes, special)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.limit_for(path)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, path, limit)
                    return
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now, whatever the application makes of the exception (a form
                    # parser may turn it into its own 400): what it sends after is dropped.
                    if not started and not refused:
                        refused = True
                        await _refuse(send, path, limit)
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            pass  # answered 413 already, or the response had started before the limit
        except Exception:
            if not refused:  # after a refusal, only the application's reaction to it
                raise


async def _refuse(send: Send, path: str, limit: int) -> None:
    message = f"request body is larger than {limit} bytes"
    if is_scale_path(path):
        payload: dict[str, object] = {"status_code": 413, "error": message}
    else:
        payload = {"error": {"code": "payload_too_large", "message": message, "details": []}}
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
