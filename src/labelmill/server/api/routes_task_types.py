"""The catalogue of task types (public to every key: it holds no organization's data)."""

from __future__ import annotations

from fastapi import APIRouter

from labelmill.schemas.task_types import TaskTypeRead
from labelmill.server.api.deps import PrincipalDep
from labelmill.server.errors import NotFound
from labelmill.server.services.export import format_names
from labelmill.tasktypes import TaskType, get_task_type, task_type_names

router = APIRouter(prefix="/api", tags=["task types"])


def _read(task_type: TaskType) -> TaskTypeRead:
    return TaskTypeRead(
        name=task_type.name,
        description=task_type.description,
        widget=task_type.widget,
        aggregator=task_type.aggregator,
        response_schema=task_type.response_schema(),
        export_formats=format_names(task_type.name),
    )


@router.get("/task-types")
def list_task_types(principal: PrincipalDep) -> list[TaskTypeRead]:
    return [_read(t) for name in task_type_names() if (t := get_task_type(name)) is not None]


@router.get("/task-types/{name}")
def get_task_type_route(name: str, principal: PrincipalDep) -> TaskTypeRead:
    task_type = get_task_type(name)
    if task_type is None:
        raise NotFound("TaskType", name)
    return _read(task_type)
