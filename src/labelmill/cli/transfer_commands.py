"""``labelmill import`` and ``labelmill export``: tasks in and results out over the API, both
streaming (bounded memory) with a progress bar."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from labelmill.cli.dataset_commands import download_with_bar, output_option, parse_format_options
from labelmill.cli.encoded_chunks import ChunkSpool, EncodedChunk
from labelmill.cli.progress import progress_bar
from labelmill.cli.remote import (
    RemoteError,
    describe_api_error,
    key_option,
    project_option,
    remote_client,
    url_option,
)
from labelmill.client import MAX_TASKS_PER_REQUEST, ApiError, ExportStatus
from labelmill.formats.label_studio import LABEL_STUDIO_TYPES, read_label_studio
from labelmill.formats.task_files import (
    FILE_FORMATS,
    ROW_UNITS,
    AnswerMode,
    FileFormat,
    Row,
    RowError,
    guess_format,
    parse_column_map,
    read_rows,
)
from labelmill.schemas import ProjectRead, TaskBulkResult, TaskCreate
from labelmill.tasktypes import ParamsError, TaskType, get_task_type

_MAX_REPORTED = 20
# Requests of one import in flight at once (see the import loop).
_IN_FLIGHT = 2

# -- import ------------------------------------------------------------------------------------


class _Checker:
    """Validates rows as the server will, so a bad row stops the import before any is sent."""

    def __init__(self, project: ProjectRead) -> None:
        self.project = project
        self.task_type: TaskType | None = get_task_type(project.task_type)
        self.problems: list[str] = []
        self.bad_rows = 0

    def check(self, row: Row) -> None:
        problems = self._problems(row.task)
        if problems:
            self.bad_rows += 1
            room = _MAX_REPORTED - len(self.problems)
            self.problems.extend(f"{row.where}: {p}" for p in problems[: max(room, 0)])

    def _problems(self, raw: dict[str, Any]) -> list[str]:
        try:
            task = TaskCreate.model_validate(raw)
        except ValidationError as exc:
            return [
                f"{'.'.join(map(str, err['loc'])) or 'task'}: {err['msg']}" for err in exc.errors()
            ]
        if self.task_type is None:  # a type this client does not know: the server judges
            return []
        try:
            params = self.task_type.validate_task_params(task.params, self.project.params)
            if task.gold_answer is not None:
                try:
                    self.task_type.validate_response(task.gold_answer, self.project.params, params)
                except ParamsError as exc:
                    return [
                        f"gold_answer.{'.'.join(map(str, loc))}: {msg}".rstrip(".")
                        for loc, msg in exc.problems
                    ]
        except ParamsError as exc:
            return [f"params.{'.'.join(map(str, loc))}: {msg}" for loc, msg in exc.problems]
        return []


def _rows_or_fail(
    path: Path,
    file_format: FileFormat,
    columns: dict[str, str],
    project: ProjectRead,
    ls_map: dict[str, str],
    ls_annotations: AnswerMode,
) -> Iterator[Row]:
    try:
        if file_format == "label-studio":
            yield from read_label_studio(
                path,
                project.task_type,
                project.params,
                data_map=ls_map,
                annotations=ls_annotations,
            )
        else:
            yield from read_rows(path, file_format, columns)
    except RowError as exc:
        raise click.ClickException(f"{path.name}: {exc}; nothing was imported") from None


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@url_option
@key_option
@project_option
@click.option("--batch", "batch_id", type=int, default=None, help="Default: the project's.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FILE_FORMATS),
    default=None,
    help="Default: from the file name (.jsonl/.ndjson, .csv/.tsv, .parquet); a .json file "
    "holding a JSON list is a Label Studio export.",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="SRC=DEST",
    help="CSV, Parquet: rename a column (e.g. text=attachment, label=gold.category).",
)
@click.option(
    "--ls-map",
    "ls_map",
    multiple=True,
    metavar="DATA_KEY=PARAM",
    help="Label Studio: the task param a data key fills (e.g. review=attachment).",
)
@click.option(
    "--ls-annotations",
    type=click.Choice(["gold", "skip"]),
    default="gold",
    show_default=True,
    help="Label Studio: make each task's annotation its known answer (a gold task), or "
    "import the tasks without answers.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, MAX_TASKS_PER_REQUEST),
    default=MAX_TASKS_PER_REQUEST,
    show_default=True,
    help="Tasks per request.",
)
def import_tasks(
    file: Path,
    url: str,
    api_key: str,
    project_id: int,
    batch_id: int | None,
    file_format: FileFormat | None,
    columns: tuple[str, ...],
    ls_map: tuple[str, ...],
    ls_annotations: AnswerMode,
    chunk_size: int,
) -> None:
    """Create tasks from a JSONL file (one TaskCreate per line), a CSV or Parquet file (one
    task per row), or a Label Studio JSON export.

    Every row is checked first; one bad row stops the import before anything is sent, naming
    each bad line. Tasks with a unique_id that already exists are reported, not duplicated,
    so re-running an interrupted import is safe.
    """
    try:
        fmt: FileFormat = file_format or guess_format(file)
        column_map = parse_column_map(columns)
        data_map = parse_column_map(ls_map, "--ls-map")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    size = file.stat().st_size
    with remote_client(url, api_key) as client:
        project = client.projects.get(project_id)
        if fmt == "label-studio" and project.task_type not in LABEL_STUDIO_TYPES:
            raise click.UsageError(
                f"a Label Studio file cannot be imported into a {project.task_type} project "
                f"(types: {', '.join(sorted(LABEL_STUDIO_TYPES))})"
            )
        if batch_id is not None:
            client.batches.get(batch_id)  # fail early on an unknown batch
        checker = _Checker(project)
        spool = ChunkSpool(chunk_size, batch_id)
        total = 0
        with progress_bar(unit="bytes") as progress:
            checking = progress.add_task("checking", total=size or None)
            for row in _rows_or_fail(file, fmt, column_map, project, data_map, ls_annotations):
                checker.check(row)
                if not checker.bad_rows:  # once a row is bad nothing will be sent
                    spool.add(row)
                total += 1
                if total % 2000 == 0:
                    progress.update(checking, completed=row.end_offset)
            spool.finish()
            progress.update(checking, completed=size)
        if checker.bad_rows:
            spool.close()
            more = checker.bad_rows - min(checker.bad_rows, _MAX_REPORTED)
            listing = "\n  ".join(checker.problems)
            raise click.ClickException(
                f"{checker.bad_rows} of {total} row(s) are invalid; nothing was imported:\n  "
                f"{listing}" + (f"\n  … and more in {more} other row(s)" if more > 0 else "")
            )
        started = time.perf_counter()
        created = existing = 0
        with (
            progress_bar("{task.fields[tasks]} tasks", unit="bytes") as progress,
            ThreadPoolExecutor(max_workers=_IN_FLIGHT) as sender,
        ):
            sending = progress.add_task("importing", total=size or None, tasks=0)

            def settle(
                future: Future[TaskBulkResult],
                chunk: EncodedChunk,
                later: Iterable[Future[TaskBulkResult]],
            ) -> None:
                nonlocal created, existing
                try:
                    result = future.result()
                except ApiError as exc:
                    after = sum(_created_or_zero(other) for other in later)
                    raise RemoteError(
                        _chunk_failure(exc, chunk, created, after, unit=ROW_UNITS[fmt])
                    ) from exc
                created += result.created
                existing += len(result.existing)
                progress.update(sending, completed=chunk.end_offset, tasks=created + existing)

            # Two requests in flight: the server stores one chunk while it parses the other
            # (PostgreSQL: ~1.3x the rate of one at a time). The bodies were encoded during
            # the check. Results are taken in file order; a rejected chunk stops the import,
            # and a chunk already sent after it is counted in the message.
            in_flight: deque[tuple[Future[TaskBulkResult], EncodedChunk]] = deque()
            try:
                for chunk, body in spool.bodies():
                    if len(in_flight) >= _IN_FLIGHT:
                        future, done_chunk = in_flight.popleft()
                        settle(future, done_chunk, (f for f, _ in in_flight))
                    future = sender.submit(client.tasks.create_encoded, project_id, body)
                    in_flight.append((future, chunk))
                while in_flight:
                    future, done_chunk = in_flight.popleft()
                    settle(future, done_chunk, (f for f, _ in in_flight))
            finally:
                spool.close()
        elapsed = time.perf_counter() - started
    rate = (created + existing) / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"imported {created} task(s) into project {project_id}"
        + (f"; {existing} already existed (same unique_id)" if existing else "")
        + f" in {elapsed:.1f}s ({rate:,.0f} tasks/s)"
    )


def _created_or_zero(future: Future[TaskBulkResult]) -> int:
    try:
        return future.result().created
    except ApiError:
        return 0


def _chunk_failure(
    exc: ApiError,
    chunk: EncodedChunk,
    created_before: int,
    created_after: int = 0,
    *,
    unit: str = "line",
) -> str:
    """The server's rejection of one chunk, with task indexes turned into the file's rows
    (``unit``: ``line``, ``row`` or ``task``, as the file's reader counts them)."""
    for item in exc.details:
        loc = list(item.loc)
        if len(loc) >= 2 and loc[0] == "tasks" and isinstance(loc[1], int):
            if 0 <= loc[1] < len(chunk.lines):
                item.loc = [f"{unit} {chunk.lines[loc[1]]}", *loc[2:]]
    message = describe_api_error(exc)
    if created_before or created_after:
        message += (
            f"\n{created_before + created_after} task(s) were created ({created_before} from "
            f"the lines before this request"
            + (f", {created_after} from the request sent after it" if created_after else "")
            + "); re-running the import skips tasks whose unique_id exists."
        )
    else:
        message += "\nnothing was imported"
    return message


# -- export ------------------------------------------------------------------------------------


@click.command("export")
@url_option
@key_option
@project_option
@click.option(
    "--format",
    "export_format",
    default="jsonl",
    show_default=True,
    help="jsonl, csv, or an export format of the project's task type (coco, yolo, conll, "
    "spacy, trl-sft, trl-dpo, parquet, label-studio…); the server says which when wrong.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A format option (repeatable); VALUE is read as JSON when it parses, else as text.",
)
@click.option(
    "--status",
    type=click.Choice(["completed", "all"]),
    default="completed",
    show_default=True,
    help="Only completed tasks, or every task.",
)
@click.option("--include-gold", is_flag=True, help="Also export gold tasks.")
@click.option("--batch", "batch_id", type=int, default=None, help="Only this batch's tasks.")
@output_option
def export_results(
    url: str,
    api_key: str,
    project_id: int,
    export_format: str,
    options: tuple[str, ...],
    status: ExportStatus,
    include_gold: bool,
    batch_id: int | None,
    output: Path,
) -> None:
    """Export a project's results as a dataset snapshot and download it into a file.

    The server keeps the snapshot (its recipe, the answers' version, row count, size and
    SHA-256): `labelmill datasets list` shows it and `labelmill datasets download ID`
    fetches the same bytes again later. The download streams in bounded memory, its hash is
    verified, and the file appears only when complete.
    """
    format_options = parse_format_options(options)
    started = time.perf_counter()
    with remote_client(url, api_key) as client:
        snapshot = client.datasets.create(
            project_id,
            format=export_format,
            options=format_options,
            status=status,
            include_gold=include_gold,
            batch_id=batch_id,
        )
        done = download_with_bar(client, snapshot.id, snapshot.byte_size, output)
    elapsed = time.perf_counter() - started
    to_stdout = str(output) == "-"
    where = "stdout" if to_stdout else str(output)
    click.echo(
        f"exported {snapshot.row_count} row(s) to {where} in {elapsed:.1f}s: dataset "
        f"{snapshot.id}, {done.byte_size} bytes, sha256 {done.sha256}",
        err=to_stdout,
    )
