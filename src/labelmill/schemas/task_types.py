"""The catalogue of task types: what each type's widget receives and must produce."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from labelmill.schemas.common import ReadModel


class TaskTypeRead(ReadModel):
    name: str
    description: str
    widget: str = Field(description="The annotator UI widget that renders this type's tasks")
    aggregator: str = Field(description="How answers of this type are aggregated")
    response_schema: dict[str, Any] = Field(description="JSON schema of a valid response")
    export_formats: list[str] = Field(description="Formats a project of this type exports to")
