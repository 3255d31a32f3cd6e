"""``client.tasks``: bulk creation, listing with filters, reading, updating, canceling."""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any, Final

from labelmill.client._http import parse
from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.client._sentinel import UNSET, Unset, given
from labelmill.client.errors import ApiError, ErrorItem
from labelmill.schemas import (
    AnnotationRead,
    Page,
    TaskBulkResult,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)
from labelmill.schemas.tasks import TaskStatus

MAX_TASKS_PER_REQUEST: Final = 10_000
"""The API's limit on tasks in one request (more is answered 413)."""

TaskInput = TaskCreate | Mapping[str, Any]


class Tasks(Resource):
    def create_many(
        self,
        project_id: int,
        tasks: Iterable[TaskInput],
        batch_id: int | None = None,
        *,
        chunk_size: int = MAX_TASKS_PER_REQUEST,
        concurrency: int = 2,
    ) -> TaskBulkResult:
        """Create tasks in a project, in requests of at most ``chunk_size`` tasks.

        ``tasks`` may be any iterable (a generator reading a file is fine: at most
        ``concurrency`` chunks are held in memory) of ``TaskCreate`` objects or mappings with
        the same fields; mappings are validated by the server, which names each bad task.
        ``batch_id=None`` puts the tasks in the project's default batch.

        Up to ``concurrency`` requests are in flight at once (default 2): the server stores
        one chunk while it reads the next, which measured ~1.3x the rate of one at a time.
        Tasks of chunks sent together may be served in a slightly different order than
        given (ids are drawn per request); pass ``concurrency=1`` for strict input order.

        **Atomicity holds per chunk, not per call.** Each request is all-or-nothing, but when
        chunk *k* is rejected, chunks before it stay created (and so may a chunk already sent
        after it); the error is raised with its ``details`` locations renumbered to positions
        in ``tasks`` and a note saying how many tasks were created. Give tasks a ``unique_id``
        to make a retry of the same input safe: tasks that exist already are reported in
        ``existing`` rather than created twice.

        The result merges the chunks: ``task_ids`` in input order, ``existing[i].index`` as a
        position in ``tasks``.
        """
        if not 1 <= chunk_size <= MAX_TASKS_PER_REQUEST:
            raise ValueError(f"chunk_size must be between 1 and {MAX_TASKS_PER_REQUEST}")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        merged = TaskBulkResult(created=0, task_ids=[], existing=[])
        pending: deque[tuple[Future[TaskBulkResult], int]] = deque()
        source = iter(tasks)
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            offset = 0
            while chunk := builtins.list(islice(source, chunk_size)):
                if len(pending) >= concurrency:
                    _merge_chunk(merged, *pending.popleft(), pending)
                future = pool.submit(self._create_chunk, project_id, chunk, batch_id)
                pending.append((future, offset))
                offset += len(chunk)
            while pending:
                _merge_chunk(merged, *pending.popleft(), pending)
        return merged

    def create_encoded(self, project_id: int, body: bytes) -> TaskBulkResult:
        """Send one ``TaskBulkCreate`` body that is already JSON (at most 10,000 tasks), as
        ``labelmill import`` does with the bodies it encoded while checking the file."""
        response = self._http.request("POST", f"/api/projects/{project_id}/tasks", content=body)
        return parse(TaskBulkResult, response)

    def _create_chunk(
        self, project_id: int, chunk: builtins.list[TaskInput], batch_id: int | None
    ) -> TaskBulkResult:
        body = {"batch_id": batch_id, "tasks": [_task_json(task) for task in chunk]}
        return self._post(f"/api/projects/{project_id}/tasks", TaskBulkResult, json=body)

    def list(
        self,
        project_id: int,
        *,
        status: TaskStatus | None = None,
        batch_id: int | None = None,
        tag: str | None = None,
        unique_id: str | None = None,
        is_gold: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[TaskRead]:
        """One page of the project's tasks; filters left as ``None`` do not filter."""
        filters = {
            "status": status,
            "batch_id": batch_id,
            "tag": tag,
            "unique_id": unique_id,
            "is_gold": is_gold,
        }
        return self._page(
            f"/api/projects/{project_id}/tasks",
            TaskRead,
            cursor=cursor,
            limit=limit,
            params=filters,
        )

    def iter(
        self,
        project_id: int,
        *,
        status: TaskStatus | None = None,
        batch_id: int | None = None,
        tag: str | None = None,
        unique_id: str | None = None,
        is_gold: bool | None = None,
        page_size: int | None = None,
    ) -> Iterator[TaskRead]:
        """Every matching task, following ``next_cursor`` one page at a time."""
        return iterate_pages(
            lambda cursor: self.list(
                project_id,
                status=status,
                batch_id=batch_id,
                tag=tag,
                unique_id=unique_id,
                is_gold=is_gold,
                cursor=cursor,
                limit=page_size,
            )
        )

    def get(self, task_id: int) -> TaskRead:
        return self._get(f"/api/tasks/{task_id}", TaskRead)

    def update(
        self,
        task_id: int,
        *,
        priority: int | Unset = UNSET,
        tags: builtins.list[str] | Unset = UNSET,
        metadata: dict[str, Any] | Unset = UNSET,
    ) -> TaskRead:
        """Change the fields given; the others stay as they are."""
        body = TaskUpdate.model_validate(given(priority=priority, tags=tags, metadata=metadata))
        return self._patch(
            f"/api/tasks/{task_id}",
            TaskRead,
            json=body.model_dump(mode="json", exclude_unset=True),
        )

    def cancel(self, task_id: int) -> TaskRead:
        """``pending → canceled``; ``ConflictError`` if the task is no longer pending."""
        return self._post(f"/api/tasks/{task_id}/cancel", TaskRead)

    def annotations(
        self, task_id: int, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[AnnotationRead]:
        """One page of the answers given to the task."""
        return self._page(
            f"/api/tasks/{task_id}/annotations", AnnotationRead, cursor=cursor, limit=limit
        )


def _task_json(task: TaskInput) -> Any:
    if isinstance(task, TaskCreate):
        return task.model_dump(mode="json", exclude_unset=True)
    return dict(task)


def _merge_chunk(
    merged: TaskBulkResult,
    future: Future[TaskBulkResult],
    offset: int,
    later: deque[tuple[Future[TaskBulkResult], int]],
) -> None:
    """Add one chunk's result to ``merged``; if it was rejected, raise its error with the
    count of tasks created (earlier chunks, and later ones already sent that succeeded)."""
    try:
        part = future.result()
    except ApiError as exc:
        _renumber_task_locs(exc, offset)
        after = 0
        for other, _ in later:
            try:
                after += other.result().created
            except ApiError:
                pass
        if merged.created or after:
            exc.add_note(
                f"{merged.created + after} task(s) were created: {merged.created} from the "
                f"first {offset} input(s)"
                + (f" and {after} from chunks sent after this one" if after else "")
                + "."
            )
        raise
    merged.created += part.created
    merged.task_ids.extend(part.task_ids)
    merged.existing.extend(
        item.model_copy(update={"index": item.index + offset}) for item in part.existing
    )


def _renumber_task_locs(exc: ApiError, offset: int) -> None:
    """Turn ``["tasks", i, ...]`` of one chunk into ``["tasks", offset + i, ...]``."""
    if not offset:
        return
    renumbered: builtins.list[ErrorItem] = []
    for item in exc.details:
        loc = builtins.list(item.loc)
        if len(loc) >= 2 and loc[0] == "tasks" and isinstance(loc[1], int):
            loc[1] += offset
        renumbered.append(ErrorItem(loc=loc, message=item.message))
    exc.details = renumbered
