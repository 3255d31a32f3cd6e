"""Project-wide re-aggregation: the request, and the answers it revised."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from labelmill.schemas.common import ReadModel, Wire


class AggregateRequest(Wire):
    method: Literal["auto", "dawid_skene", "majority_vote"] = Field(
        default="auto",
        description="auto: Dawid-Skene made robust for sparse workers, calibrated on gold tasks",
    )


class AnswerRevisionRead(ReadModel):
    id: int
    task_id: int
    job_id: int | None
    method: str
    old_response: dict[str, Any] | None
    new_response: dict[str, Any]
    old_confidence: float | None
    new_confidence: float
    created_at: datetime
