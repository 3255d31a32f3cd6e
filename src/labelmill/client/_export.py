"""Streaming a project's export: line by line, or straight into a file, in bounded memory."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Literal

ExportFormat = Literal["jsonl", "csv"]
ExportStatus = Literal["completed", "all"]


def split_lines(chunks: Iterable[str]) -> Iterator[str]:
    """Re-cut text chunks into lines that keep their ending, as iterating a text file does.

    Only ``\\n`` ends a line (``\\r\\n`` stays whole): unlike ``str.splitlines``, a U+2028 inside
    a JSON string or a ``\\x0c`` in a CSV field does not cut a record in two.
    """
    pending = ""
    for chunk in chunks:
        pending += chunk
        start = 0
        while (end := pending.find("\n", start)) != -1:
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
    if pending:
        yield pending


PathLike = str | os.PathLike[str]
