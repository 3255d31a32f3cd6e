"""Domain errors, free of HTTP.

Services raise these; ``labelmill.server.api.error_handlers`` maps each to one HTTP status,
and the CLI renders them. The tree::

    LabelmillError            base; carries a stable ``code`` and a human ``message``
    ├── NotFound              404: unknown id, or an id of another organization
    ├── Forbidden             403: the caller may see the object but not do this
    ├── Unauthenticated       401: no or an unknown API key
    ├── Conflict              409: the request clashes with the current state
    ├── InvalidInput          422: the request is well-formed but its content is wrong;
    │   │                     ``details`` lists each bad field / row
    │   └── Malformed         400: the request cannot be read (bad JSON, foreign cursor)
    └── PayloadTooLarge       413
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem with the input: where (``loc``, e.g. ``["tasks", 3, "params", "categories"]``)
    and why."""

    loc: tuple[str | int, ...]
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "message": self.message}


class LabelmillError(Exception):
    code: str = "error"

    def __init__(self, message: str, *, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = details or []


class NotFound(LabelmillError):
    code = "not_found"

    def __init__(self, entity: str, ident: object) -> None:
        super().__init__(f"{entity} {ident!s} not found")
        self.entity = entity
        self.ident = ident


class Forbidden(LabelmillError):
    code = "forbidden"


class Unauthenticated(LabelmillError):
    code = "unauthenticated"


class Conflict(LabelmillError):
    code = "conflict"


class InvalidInput(LabelmillError):
    code = "invalid_input"


class Malformed(InvalidInput):
    code = "malformed"


class PayloadTooLarge(LabelmillError):
    code = "payload_too_large"


@dataclass
class ErrorCollector:
    """Collects every problem of a bulk input, so one response names all bad rows."""

    details: list[ErrorDetail] = field(default_factory=list)
    limit: int = 1000

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        if len(self.details) < self.limit:
            self.details.append(ErrorDetail(loc, message))

    def raise_if_any(self, message: str) -> None:
        if self.details:
            raise InvalidInput(message, details=self.details)
