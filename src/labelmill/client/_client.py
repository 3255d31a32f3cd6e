"""``Client``: the entry point of the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, Final, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict

from labelmill.client._export import ExportFormat, ExportStatus, PathLike, split_lines
from labelmill.client._http import AuthScheme, HttpSession, Query, parse
from labelmill.client._resources.batches import Batches
from labelmill.client._resources.datasets import Datasets
from labelmill.client._resources.jobs import Audit, Jobs
from labelmill.client._resources.pools import Pools
from labelmill.client._resources.projects import Projects
from labelmill.client._resources.tasks import Tasks
from labelmill.client._resources.workers import Workers
from labelmill.schemas import (
    Heartbeat,
    LeasedTask,
    Me,
    Page,
    Submission,
    SubmissionResult,
    WorkerProject,
)
from labelmill.schemas.callbacks import CallbackKey
from labelmill.schemas.review import ReviewDecided, ReviewDecision, ReviewLeaseRead

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)


class Health(BaseModel):
    """``GET /api/health``."""

    model_config = ConfigDict(extra="ignore")

    status: str
    database: str
    version: str


class Client:
    """A synchronous client of the labelmill REST API.

    ``base_url`` is the server's root (``http://localhost:8000``; a trailing ``/api`` is
    accepted too). ``api_key`` is an organization key or a worker key; it is sent as
    ``Authorization: Bearer <key>``, or as HTTP Basic with the key as user name when
    ``auth_scheme="basic"``. ``transport`` replaces httpx's network transport (tests pass
    ``httpx.MockTransport`` or ``httpx.WSGITransport``); ``timeout`` is httpx's (``None``: no
    limit).

    Resources: ``projects``, ``batches``, ``tasks``, ``pools``, ``workers``, ``jobs``, ``audit``,
    ``datasets``.
    The worker's calls (``next_task``, ``submit``, ``heartbeat``, ``skip``, ``work_projects``)
    and ``export`` sit on the client itself. Errors are raised as
    ``labelmill.client.errors.ApiError`` subclasses. Use it as a context manager, or call
    ``close()``::

        with Client("http://localhost:8000", "lm_live_...") as client:
            project = client.projects.create("sentiment", "categorization", {...})
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        auth_scheme: AuthScheme = "bearer",
    ) -> None:
        self._http = HttpSession(
            base_url, api_key, auth_scheme=auth_scheme, transport=transport, timeout=timeout
        )
        self.projects: Final = Projects(self._http)
        self.batches: Final = Batches(self._http)
        self.tasks: Final = Tasks(self._http)
        self.pools: Final = Pools(self._http)
        self.workers: Final = Workers(self._http)
        self.jobs: Final = Jobs(self._http)
        self.audit: Final = Audit(self._http)
        self.datasets: Final = Datasets(self._http)

    def __repr__(self) -> str:
        return f"Client({str(self._http.base_url)!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool. The client is unusable afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- who and where -----------------------------------------------------------------------

    def health(self) -> Health:
        """The server's status; needs no valid key."""
        return parse(Health, self._http.request("GET", "/api/health"))

    def me(self) -> Me:
        """Who the API key acts as."""
        return parse(Me, self._http.request("GET", "/api/me"))

    def callback_key(self) -> CallbackKey:
        """The organization's callback key: every task and batch callback carries it in the
        ``scale-callback-auth`` header (owners and managers)."""
        return parse(CallbackKey, self._http.request("GET", "/api/account/callback-key"))

    def rotate_callback_key(self) -> CallbackKey:
        """Replace the callback key with a new one and return it."""
        response = self._http.request("POST", "/api/account/callback-key/rotate")
        return parse(CallbackKey, response)

    # -- the worker's side -------------------------------------------------------------------

    def work_projects(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[WorkerProject]:
        """Projects the calling worker is staffed on (one page)."""
        response = self._http.request(
            "GET", "/api/work/projects", params={"cursor": cursor, "limit": limit}
        )
        return parse(Page[WorkerProject], response)

    def next_task(self, project_id: int) -> LeasedTask | None:
        """Lease the next task of the project, or ``None`` when none is available now."""
        response = self._http.request("POST", f"/api/work/projects/{project_id}/next")
        if response.status_code == httpx.codes.NO_CONTENT:
            return None
        return parse(LeasedTask, response)

    def submit(
        self, assignment_id: int, response: dict[str, Any], duration_ms: int | None = None
    ) -> SubmissionResult:
        """Answer a leased task. Once this returns, the answer is stored durably."""
        body = Submission(response=response, duration_ms=duration_ms)
        answer = self._http.request(
            "POST",
            f"/api/work/assignments/{assignment_id}/submit",
            json=body.model_dump(mode="json"),
        )
        return parse(SubmissionResult, answer)

    def heartbeat(self, assignment_id: int) -> Heartbeat:
        """Extend the lease; ``ConflictError`` when it is gone."""
        response = self._http.request("POST", f"/api/work/assignments/{assignment_id}/heartbeat")
        return parse(Heartbeat, response)

    def next_review(self, project_id: int) -> ReviewLeaseRead | None:
        """Lease the next completed task waiting for review (reviewers), or ``None``."""
        response = self._http.request("POST", f"/api/review/projects/{project_id}/next")
        if response.status_code == httpx.codes.NO_CONTENT:
            return None
        return parse(ReviewLeaseRead, response)

    def decide_review(
        self,
        review_id: int,
        decision: Literal["accept", "correct", "reject"],
        response: dict[str, Any] | None = None,
    ) -> ReviewDecided:
        """Accept the answer under review, correct it (``response`` is the right answer), or
        reject it (the task goes back for one more label)."""
        body = ReviewDecision(decision=decision, response=response)
        answer = self._http.request(
            "POST", f"/api/review/{review_id}/decide", json=body.model_dump(mode="json")
        )
        return parse(ReviewDecided, answer)

    def skip(self, assignment_id: int) -> None:
        """Give the leased task back without answering it."""
        self._http.request("POST", f"/api/work/assignments/{assignment_id}/skip")

    # -- export ------------------------------------------------------------------------------

    def export(
        self,
        project_id: int,
        *,
        format: ExportFormat = "jsonl",
        status: ExportStatus = "completed",
        include_gold: bool = False,
    ) -> Iterator[str]:
        """Yield the export line by line, each with its ``\\n``, as a text file iterates.

        The download streams: memory holds one network chunk, whatever the project's size.
        The request is sent when iteration starts; the connection is released when the
        iterator is exhausted or closed (``with contextlib.closing(client.export(...))`` when
        stopping early). JSONL: one ``json.loads`` per line. CSV: pass the lines to
        ``csv.reader``, which joins fields that contain line breaks.
        """
        query = _export_query(format, status, include_gold)
        with self._http.stream("GET", f"/api/projects/{project_id}/export", params=query) as r:
            yield from split_lines(r.iter_text())

    def export_to_file(
        self,
        project_id: int,
        path: PathLike,
        *,
        format: ExportFormat = "jsonl",
        status: ExportStatus = "completed",
        include_gold: bool = False,
    ) -> int:
        """Stream the export into ``path`` (bytes as the server sent them); return the number
        of bytes written. The file is only created once the server has accepted the request."""
        query = _export_query(format, status, include_gold)
        written = 0
        with self._http.stream("GET", f"/api/projects/{project_id}/export", params=query) as r:
            with open(path, "wb") as out:
                for chunk in r.iter_bytes():
                    written += out.write(chunk)
        return written


def _export_query(format: ExportFormat, status: ExportStatus, include_gold: bool) -> Query:
    return {"format": format, "status": status, "include_gold": include_gold}
