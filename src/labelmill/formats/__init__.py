"""Import and export converters between labelmill's records and the files trainers use.

Pure and streaming: iterators of records in, iterators of bytes out (or file rows in, task
dicts out). Nothing here imports the server (DESIGN.md §2).
"""

from labelmill.formats.base import ExportContext, Exporter, ExportRecord, FormatError
from labelmill.formats.registry import exporter_for, exporter_names, register_exporter

__all__ = [
    "ExportContext",
    "ExportRecord",
    "Exporter",
    "FormatError",
    "exporter_for",
    "exporter_names",
    "register_exporter",
]
