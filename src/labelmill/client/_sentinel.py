"""The "argument not given" marker, for parameters where ``None`` is a meaningful value."""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypeAlias


class _UnsetType(enum.Enum):
    # An enum member, so that ``x is UNSET`` narrows the type for mypy.
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _UnsetType.UNSET
"""Leave this field as it is (updates) or let the server pick its default (creation)."""

Unset: TypeAlias = Literal[_UnsetType.UNSET]


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were given, i.e. are not ``UNSET`` (``None`` is kept)."""
    return {name: value for name, value in fields.items() if value is not UNSET}
