"""Task types: params, responses, validation and rendering per type, behind a registry."""

from labelmill.tasktypes.base import Answer, ParamsError, Settlement, TaskType
from labelmill.tasktypes.registry import get_task_type, register, task_type_names

__all__ = [
    "Answer",
    "ParamsError",
    "Settlement",
    "TaskType",
    "get_task_type",
    "register",
    "task_type_names",
]
