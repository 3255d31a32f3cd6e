"""Task types: params, responses, validation and rendering per type, behind a registry."""

from labelmill.tasktypes.base import ParamsError, TaskType
from labelmill.tasktypes.registry import get_task_type, register, task_type_names

__all__ = ["ParamsError", "TaskType", "get_task_type", "register", "task_type_names"]
