"""Task-file readers for ``labelmill import``: they live in ``labelmill.formats.task_files``
(pure, shared with the SDK and the server); re-exported here for older imports."""

from labelmill.formats.task_files import (
    FileFormat,
    Row,
    RowError,
    guess_format,
    parse_column_map,
    read_rows,
)

__all__ = ["FileFormat", "Row", "RowError", "guess_format", "parse_column_map", "read_rows"]
