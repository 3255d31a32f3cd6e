"""Maps export format names to their exporter. New formats register here."""

from __future__ import annotations

from labelmill.formats.base import Exporter, FormatError

_EXPORTERS: dict[str, Exporter] = {}


def register_exporter(exporter: Exporter) -> None:
    _EXPORTERS[exporter.name] = exporter


def exporter_names(task_type: str | None = None) -> list[str]:
    """Format names, all or those that can express ``task_type``."""
    return sorted(
        name
        for name, exporter in _EXPORTERS.items()
        if task_type is None or exporter.task_types is None or task_type in exporter.task_types
    )


def exporter_for(name: str, task_type: str) -> Exporter:
    """The exporter called ``name``, checked to handle ``task_type``; else ``FormatError``."""
    exporter = _EXPORTERS.get(name)
    if exporter is None:
        raise FormatError(
            f"format: unknown export format {name!r}; known: {', '.join(exporter_names())}"
        )
    if exporter.task_types is not None and task_type not in exporter.task_types:
        raise FormatError(
            f"format: {name!r} cannot export {task_type!r} tasks; formats for this type: "
            f"{', '.join(exporter_names(task_type))}"
        )
    return exporter


# Built-in formats. Imported at the bottom: their modules import ``labelmill.formats.base``,
# never this module, so there is no cycle.
from labelmill.formats.coco import CocoExporter  # noqa: E402
from labelmill.formats.conll import ConllExporter  # noqa: E402
from labelmill.formats.label_studio_export import LabelStudioExporter  # noqa: E402
from labelmill.formats.parquet import ParquetExporter  # noqa: E402
from labelmill.formats.spacy_json import SpacyJsonExporter  # noqa: E402
from labelmill.formats.trl import TrlDpoExporter, TrlSftExporter  # noqa: E402
from labelmill.formats.yolo import YoloExporter  # noqa: E402

register_exporter(ParquetExporter())
register_exporter(LabelStudioExporter())
register_exporter(TrlSftExporter())
register_exporter(TrlDpoExporter())
register_exporter(ConllExporter())
register_exporter(SpacyJsonExporter())
register_exporter(CocoExporter())
register_exporter(YoloExporter())
