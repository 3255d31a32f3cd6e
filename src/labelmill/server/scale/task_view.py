"""The Scale task object (reference/scale_api.md §3.1) of a labelmill task.

Used by the ``/v1`` routes and by callback delivery (the callback body carries the task as
``GET /v1/task/{id}`` shows it), so both always agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.models import Batch, Project, Task
from labelmill.server.scale.serialize import NATIVE_TO_SCALE, timestamp
from labelmill.server.scale.task_types import adapter_for_native
from labelmill.server.services.projects import version_params

# ``limited_response=true`` keeps only these (SDK docstring, §3.1).
LIMITED_KEYS = ("task_id", "status", "metadata", "project", "otherVersion")


def _instruction(task_level: str | None, project_level: str | None) -> str:
    """Scale appends the project's instruction after the task's own (§4.2)."""
    parts = [part for part in (task_level, project_level) if part]
    return "\n\n".join(parts)


def task_object(
    session: Session,
    task: Task,
    *,
    project: Project | None = None,
    batch_name: str | None = None,
    limited: bool = False,
) -> dict[str, Any]:
    """``task`` as Scale shows it. ``project`` and ``batch_name`` may be given when the
    caller has them (listing); otherwise they are read."""
    if project is None:
        project = session.get(Project, task.project_id)
        assert project is not None
    if batch_name is None:
        batch_name = session.scalar(select(Batch.name).where(Batch.id == task.batch_id))
    request = task.scale_request or {}
    adapter = adapter_for_native(project.task_type)
    scale_type = request.get("type") or NATIVE_TO_SCALE.get(project.task_type, project.task_type)
    if limited:
        return {
            "task_id": str(task.id),
            "status": task.status,
            "metadata": task.meta or {},
            "project": project.name,
        }
    project_params = version_params(
        session.connection(), project_id=task.project_id, version=task.project_version
    )
    if "params" in request:
        params = request["params"]
    elif adapter is not None:
        params = adapter.params_of_native(task.params, project_params)
    else:
        params = task.params
    body: dict[str, Any] = {
        "task_id": str(task.id),
        "type": scale_type,
        "status": task.status,
        "project": project.name,
        "batch": batch_name,
        "instruction": _instruction(request.get("instruction"), project_params.get("instruction")),
        "params": params,
        "metadata": task.meta or {},
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
        "is_test": task.is_test,
        "urgency": request.get("urgency", "standard"),
        "processed_attachments": [],
        "project_param_version": task.project_version - 1,
    }
    if task.callback_url:
        body["callback_url"] = task.callback_url
    if task.callback_succeeded is not None:
        body["callback_succeeded"] = task.callback_succeeded
    if task.unique_id is not None:
        body["unique_id"] = task.unique_id
    if task.tags:
        body["tags"] = list(task.tags)
    if task.customer_review_status is not None:
        body["customer_review_status"] = task.customer_review_status
    if task.status == "completed":
        body["completed_at"] = timestamp(task.completed_at)
    if task.response is not None and task.status in ("completed", "error"):
        if adapter is not None and task.status == "completed":
            body["response"] = adapter.response(
                task.response,
                scale_params=params,
                native_params=task.params,
                project_params=project_params,
            )
        else:
            body["response"] = task.response
        if task.confidence is not None:
            body["confidence"] = task.confidence
    return body
