"""Scale-shaped objects (reference/scale_api.md §4) from labelmill rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from labelmill.server.models import Batch, Project, ProjectVersion

# Scale type name ↔ labelmill task type (issue 5).
SCALE_TO_NATIVE: dict[str, str] = {
    "categorization": "categorization",
    "textcollection": "text_collection",
    "imageannotation": "image_annotation",
    "namedentityrecognition": "text_spans",
    "comparison": "pairwise_comparison",
}
NATIVE_TO_SCALE: dict[str, str] = {native: scale for scale, native in SCALE_TO_NATIVE.items()}


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Scale writes them."""
    if value is None:
        return None
    if value.tzinfo is None:  # stored values are UTC; a naive one is UTC too
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def scale_version(native_version: int) -> int:
    """Scale numbers param versions from 0, labelmill from 1."""
    return native_version - 1


def project(row: Project, versions: Iterable[ProjectVersion]) -> dict[str, Any]:
    history = [
        {**v.params, "version": scale_version(v.version), "created_at": timestamp(v.created_at)}
        for v in sorted(versions, key=lambda v: v.version)
    ]
    return {
        "name": row.name,
        # A project made through the native API with a type Scale has no name for keeps
        # labelmill's name: the SDK stores the string as it is.
        "type": NATIVE_TO_SCALE.get(row.task_type, row.task_type),
        "param_history": history,
        "created_at": timestamp(row.created_at),
    }


def batch(row: Batch, project_name: str) -> dict[str, Any]:
    return {
        "project": project_name,
        "name": row.name,
        "status": row.status,
        "callback": row.callback_url or "",
        "metadata": row.meta or {},
        "created_at": timestamp(row.created_at),
        "completed_at": timestamp(row.completed_at),
    }
