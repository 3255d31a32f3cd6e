"""The exporter contract: what every export format receives and must produce."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


class FormatError(ValueError):
    """A format cannot be used here (wrong task type, bad option), or an input file row is
    bad; the message names the option, field or row."""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One task of a project as an exporter sees it: parsed JSON, no database types."""

    task_id: int
    unique_id: str | None
    batch_id: int
    status: str
    project_version: int
    params: Mapping[str, Any]
    metadata: Mapping[str, Any]
    tags: list[str]
    response: Mapping[str, Any] | None
    confidence: float | None
    n_labels: int
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What an exporter may need beyond the records: the project's type and params, and the
    format's own options (e.g. ``{"pairs": "all"}`` for DPO from rankings)."""

    task_type: str
    project_params: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)


class Exporter(Protocol):
    name: ClassVar[str]
    """Format name used by the API, SDK and CLI (``coco``, ``trl-dpo``, …)."""
    media_type: ClassVar[str]
    file_extension: ClassVar[str]
    """Without the dot: ``jsonl``, ``json``, ``zip``, ``parquet``, …"""
    task_types: ClassVar[frozenset[str] | None]
    """The task types this format can express; None: every type."""

    def check_options(self, context: ExportContext) -> None:
        """Raise ``FormatError`` naming the option if ``context.options`` is unusable, before
        anything is read."""

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        """The file's bytes, in chunks, reading ``records`` once, in bounded memory where the
        format allows (a single JSON document such as COCO may hold its annotations)."""
