"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelmill.server.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LabelmillError,
    Malformed,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[LabelmillError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (Malformed, 400),
    (InvalidInput, 422),
]


def error_response(
    status: int, code: str, message: str, details: list[dict[str, object]] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers=headers,
    )


def _status_of(exc: LabelmillError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LabelmillError)
    return error_response(
        _status_of(exc), exc.code, exc.message, [d.as_dict() for d in exc.details]
    )


def validation_details(errors: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{"loc": list(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors]  # type: ignore[call-overload]


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed", "request body is not valid JSON")
    details = validation_details(errors)
    first = details[0] if details else {"loc": [], "message": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])  # type: ignore[attr-defined]
    return error_response(422, "invalid_input", f"{where}: {first['message']}", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {400: "malformed", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc.detail))


async def _unstorable(_request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value of the request: an integer beyond 64 bits (no id can be
    # one) or text PostgreSQL cannot hold (NUL characters). Bad input, not a server fault;
    # the unit of work was rolled back, so nothing was written.
    log.info("database refused a request value: %s", str(exc).splitlines()[0])
    return error_response(
        422, "invalid_input", "a value in the request is out of range or cannot be stored"
    )


async def _concurrent_change(_request: Request, exc: Exception) -> JSONResponse:
    # A uniqueness or reference rule refused a write that the service's own checks let
    # through because a concurrent request changed the same thing first (e.g. two batches of
    # one name created at once). The unit of work was rolled back; the client may retry.
    log.info("database refused a concurrent write: %s", str(exc).splitlines()[0])
    return error_response(
        409, "conflict", "a concurrent request changed the same data first; nothing was written"
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(LabelmillError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)
    app.add_exception_handler(IntegrityError, _concurrent_change)
    app.add_exception_handler(Exception, _unexpected)
