"""``/v1/task`` and ``/v1/tasks``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
