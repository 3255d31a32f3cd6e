"""Progress bars (rich) on stderr, so stdout stays clean for what a command prints."""

from __future__ import annotations

from typing import Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(
    *extra: ProgressColumn | str, unit: Literal["items", "bytes"] = "items"
) -> Progress:
    """A bar with ``n/total`` (or bytes), percentage, elapsed and remaining time, then
    ``extra`` columns (e.g. ``"{task.fields[rate]}"``)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn() if unit == "bytes" else MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra,
        console=Console(stderr=True),
    )
