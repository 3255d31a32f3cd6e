"""Scale task types ↔ labelmill task types: how a Scale create request becomes a labelmill
task's params, which Scale params (defaults filled in) the task echoes, and the Scale
response shape of a labelmill answer (reference/scale_api.md §3.3).

Pure: no database. Errors are ``InvalidInput`` whose message names the field
(``params.attachment: required``).

The contract (``Translated``, ``ScaleTypeAdapter``, ``COMMON_KEYS``) and the helpers every
adapter shares live here; each adapter lives in its own ``type_<name>`` module, which
registers itself into ``ADAPTERS`` when imported. ``_load_adapters`` at the bottom imports
them all, so importing this module gives the full registry, and importing a type module
first works too (it finishes registering itself once this module is loaded).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from labelmill.server.errors import InvalidInput
from labelmill.tasktypes import ParamsError, get_task_type


@dataclass(frozen=True, slots=True)
class Translated:
    native_params: dict[str, Any]
    """The labelmill task params (validated again by the labelmill task type)."""
    scale_params: dict[str, Any]
    """Scale's ``params`` of the task, every documented default filled in (echoed back)."""


class ScaleTypeAdapter(Protocol):
    scale_name: str
    native_name: str

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        """``body``: the type-specific keys of a ``POST /v1/task/{type}`` request (the common
        ones, ``COMMON_KEYS``, are removed by the caller)."""
        ...

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        """Scale params for a task created through labelmill's own API."""
        ...

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        """The Scale response of a labelmill answer."""
        ...


# Request keys every type shares; the route handles them, the adapter never sees them.
COMMON_KEYS = frozenset(
    {
        "project",
        "batch",
        "instruction",
        "callback_url",
        "unique_id",
        "metadata",
        "tags",
        "clear_unique_id_on_error",
        "priority",
        "urgency",
        "project_version",
    }
)

ADAPTERS: dict[str, ScaleTypeAdapter] = {}
"""By Scale type name."""


def adapter_for_native(native_name: str) -> ScaleTypeAdapter | None:
    for adapter in ADAPTERS.values():
        if adapter.native_name == native_name:
            return adapter
    return None


def register(adapter: ScaleTypeAdapter) -> None:
    """Called by each ``type_<name>`` module for its adapter."""
    ADAPTERS[adapter.scale_name] = adapter


# --- helpers shared by the adapters -----------------------------------------------------


def invalid(path: str, message: str) -> InvalidInput:
    """The error of a bad Scale param: ``path`` below ``params`` (``attachment``,
    ``categories.2``), so the message reads ``params.categories.2: ...``."""
    return InvalidInput(f"params.{path}: {message}")


def reject_unknown(body: Mapping[str, Any], allowed: Iterable[str], scale_name: str) -> None:
    """A key that is neither common nor one this type documents is a 400 naming it: a
    misspelt option silently ignored would give a task other than the one asked for."""
    reject_keys(body, allowed, path="", why=f"not a parameter of {scale_name} tasks")


def reject_keys(item: Mapping[str, Any], allowed: Iterable[str], *, path: str, why: str) -> None:
    """A 400 naming ``path.key`` for the first key of ``item`` (in sorted order) outside
    ``allowed``."""
    known = set(allowed)
    for key in sorted(item):
        if key not in known:
            raise invalid(f"{path}.{key}" if path else key, why)


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (``true`` is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number, not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise invalid(key, "required")
    if not isinstance(value, str):
        raise invalid(key, "must be a string")
    if not value:
        raise invalid(key, "must not be empty")
    return value


def optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(key, "must be a string")
    return value


def optional_bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(key, "must be true or false")
    return value


def list_of(body: Mapping[str, Any], key: str, *, path: str | None = None) -> list[Any] | None:
    """``body[key]`` when it is a list, None when absent or null; a 400 otherwise, naming
    ``path`` (default ``key``: ``body`` is the request itself)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(path or key, "must be a list")
    return value


def native_checked(
    native_name: str,
    raw: dict[str, Any],
    project_params: Mapping[str, Any],
    where: Mapping[str, str],
) -> dict[str, Any]:
    """``raw`` validated by the labelmill type, so a bad value is refused with the Scale
    name of its field (``where`` maps a native field to its Scale path) rather than the
    native name the client never wrote. Returns the normalised native params."""
    task_type = get_task_type(native_name)
    assert task_type is not None, native_name
    try:
        return task_type.validate_task_params(raw, project_params)
    except ParamsError as exc:
        messages = []
        for loc, message in exc.problems:
            head = str(loc[0]) if loc else ""
            path = ".".join([where.get(head, head), *(str(part) for part in loc[1:])])
            messages.append(f"params.{path}: {message}")
        raise InvalidInput("; ".join(messages)) from None


# A fixed namespace: annotation ids are uuid5 names within it, so that they are the same on
# every read of a task (Scale's ids are stable; a client may key its own records on them).
_ANNOTATION_NAMESPACE = uuid.UUID("9d5f2a8e-3f2c-5b8e-9a57-6c1f0e0b7a11")


def annotation_id(native_params: Mapping[str, Any], kind: str, index: int, item: object) -> str:
    """A deterministic id for the ``index``-th ``kind`` (``span``, ``relation``, ``box``…)
    of a task's answer: the same task params, position and content give the same id."""
    canonical = json.dumps(
        [native_params, kind, index, item], sort_keys=True, ensure_ascii=False, default=str
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return str(uuid.uuid5(_ANNOTATION_NAMESPACE, digest))


_TYPE_MODULES = (
    "type_categorization",
    "type_textcollection",
    "type_imageannotation",
    "type_namedentityrecognition",
    "type_comparison",
)


def _load_adapters() -> None:
    """Import every type module: each registers its adapter. (A module already being
    imported, the one that imported this module, registers itself when it finishes.)"""
    for name in _TYPE_MODULES:
        importlib.import_module(f"{__package__}.{name}")


_load_adapters()
