"""Scale task types ↔ labelmill task types: how a Scale create request becomes a labelmill
task's params, which Scale params (defaults filled in) the task echoes, and the Scale
response shape of a labelmill answer (reference/scale_api.md §3.3).

Pure: no database. Errors are ``InvalidInput`` whose message names the field
(``params.attachment: required``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
