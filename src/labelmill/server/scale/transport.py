"""Scale's wire conventions (reference/scale_api.md §1): Basic auth with the API key as user
name, ``{"status_code", "error"}`` error bodies, raw (still percent-encoded) path routing,
missing bodies, Python-cased booleans and repeated query keys."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from labelmill.server.api.deps import presented_key
from labelmill.server.db.engine import Database
from labelmill.server.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LabelmillError,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)
from labelmill.server.services.auth import Principal, authenticate

log = logging.getLogger(__name__)


class NotEnabled(LabelmillError):
    """Scale's 402: a task type this server does not offer ("not enabled for your
    account"); the SDK raises ``ScaleNotEnabled``."""


# The codes the scaleapi SDK maps to its exceptions (§1.5). Native 422 (invalid input)
# becomes 400: the SDK has no class for 422, and Scale answers bad parameters with 400.
_STATUS: list[tuple[type[LabelmillError], int]] = [
    (NotEnabled, 402),
    (NotFound, 404),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (InvalidInput, 400),
]


def scale_error(status: int, message: str) -> JSONResponse:
    """Scale's error body: always a JSON object (the SDK calls ``.get`` on it)."""
    return JSONResponse({"status_code": status, "error": message}, status_code=status)


def _status_of(exc: LabelmillError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def details_text(exc: LabelmillError) -> str:
    """The error's details as ``loc: message; …`` (empty when it has none)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in d.loc)}: {d.message}" if d.loc else d.message
        for d in exc.details
    )


def _detailed(exc: LabelmillError) -> str:
    return f"{exc.message} ({details_text(exc)})" if exc.details else exc.message


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LabelmillError)
    return scale_error(_status_of(exc), _detailed(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return scale_error(400, f"{where}: {first.get('msg', 'invalid request')}")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # 405 is not in the SDK's map; an unknown method on a known path is "no such endpoint".
    status = 404 if exc.status_code == 405 else exc.status_code
    return scale_error(status, str(exc.detail))


async def _unstorable(_request: Request, exc: Exception) -> JSONResponse:
    log.info("database refused a request value: %s", str(exc).splitlines()[0])
    return scale_error(400, "a value in the request is out of range or cannot be stored")


async def _concurrent_change(_request: Request, exc: Exception) -> JSONResponse:
    # Only the create endpoints can meet a uniqueness rule here (a concurrent create of the
    # same name); the SDK handles 409 there (its endpoints contain no "task").
    log.info("database refused a concurrent write: %s", str(exc).splitlines()[0])
    return scale_error(409, "a concurrent request created the same name first")


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return scale_error(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LabelmillError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)
    app.add_exception_handler(IntegrityError, _concurrent_change)
    app.add_exception_handler(Exception, _unexpected)


class RawPathMiddleware:
    """Route on the raw path. The SDK percent-encodes names with ``safe=""``, so a project
    ``a/b`` arrives as ``a%2Fb``; ASGI servers decode that to ``a/b`` before routing, after
    which ``projects/x%2FsetParams`` would reach the setParams route of project ``x``.
    Here the path keeps its encoding, so a ``{name}`` parameter is exactly one segment, and
    ``path_name`` decodes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                raw_text = raw.split(b"?", 1)[0].decode("latin-1")
                # Keep the mount's routing intact: only swap in a raw path that decodes to
                # the same path (it always does for a well-formed request line).
                if unquote(raw_text) == scope["path"]:
                    scope = dict(scope, path=raw_text)
        await self.app(scope, receive, send)


def path_name(raw_segment: str) -> str:
    """A name from one still-encoded path segment."""
    try:
        return unquote(raw_segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("a name in the path is not percent-encoded UTF-8") from None


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_principal(request: Request) -> Principal:
    """The caller, from ``Authorization: Basic base64(key:)`` as the SDK sends it (§1.2);
    Bearer is accepted too (the SDK's generated v2 client uses it)."""
    with _db(request).read_session() as session:
        return authenticate(session=session, secret=presented_key(request))


async def get_db(request: Request) -> Database:
    return _db(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
DbDep = Annotated[Database, Depends(get_db)]


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as an object. The SDK sends no body at all for empty ones
    (``body or None``, §1.4): a missing body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("request body is not valid JSON") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("request body must be a JSON object")
    return value


BodyDep = Annotated[dict[str, Any], Depends(json_object)]

#: Largest page of a /v1 listing (Scale's limit).
MAX_PAGE = 100

_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}


def parse_bool(value: str, name: str) -> bool:
    """``requests`` sends Python's ``True``/``False``; other clients send ``true``."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(f"{name} must be a boolean, not {value!r}")


def query_values(request: Request, name: str) -> list[str]:
    """Every value of ``name``: repeated keys (``status=a&status=b``) and comma lists."""
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def query_last(request: Request, name: str) -> str | None:
    """One value of ``name``; a repeated key counts by its last occurrence."""
    values = request.query_params.getlist(name)
    return values[-1] if values else None


def query_time(request: Request, name: str) -> datetime | None:
    """An ISO 8601 date or date-time query value; without a zone it is UTC (§5.1 rule 5)."""
    value = query_last(request, name)
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or time, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query_bool(request: Request, name: str, default: bool) -> bool:
    value = query_last(request, name)
    return default if value is None or value == "" else parse_bool(value, name)


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    value = query_last(request, name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {value!r}") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}")
    return number


def body_str(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def body_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_bool(value, name)
    raise InvalidInput(f"{name} must be a boolean")
