"""Callbacks (issue 5, DESIGN.md invariant 8): a task's completion, recall, audit or error is
POSTed to its ``callback_url`` with the organization's key in ``scale-callback-auth``, through
the outbox: at least once, retried with backoff, across restarts, and the task records
whether delivery succeeded. On both databases (PostgreSQL's work loop writes the job inside
its one submit statement). The receiver is a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from labelmill.cli import cli
from labelmill.client import Client
from labelmill.server.db.engine import Database, make_database
from labelmill.server.jobs.runner import run_due_jobs
from labelmill.server.models import Job
from labelmill.server.services import callbacks, jobs
from labelmill.server.settings import Settings
from tests.cli.conftest import backend_env
from tests.conftest import Backend
from tests.factory import CATEGORIES, Factory, OrgHandle, ProjectHandle, auth
from tests.live_server import free_port, serve_in_thread
from tests.server.loop import answer_next, read_task

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int


class Receiver:
    """A customer's callback endpoint: records every request and answers the queued status
    codes first, then ``default``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.default = 200
        self._answers: deque[int] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    code = receiver._answers.popleft() if receiver._answers else receiver.default
                    receiver.requests.append(
                        Received(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=json.loads(raw),
                            answered=code,
                        )
                    )
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer_next(self, *codes: int) -> None:
        with self._lock:
            self._answers.extend(codes)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _quick_retries(backend: Backend) -> None:
    """No waiting between attempts, and few of them: the tests run the due jobs themselves
    (``run_due_jobs``), so every retry happens in the same call."""
    backend.settings = backend.settings.model_copy(
        update={
            "callback_max_attempts": MAX_ATTEMPTS,
            "callback_backoff_base_seconds": 0.0,
            "callback_backoff_max_seconds": 0.0,
            "callback_timeout_seconds": 5.0,
        }
    )


def _callback_key(client: TestClient, org: OrgHandle) -> str:
    response = client.get("/api/account/callback-key", headers=auth(org.key))
    assert response.status_code == 200, response.text
    assert response.json()["header"] == "scale-callback-auth"
    return str(response.json()["callback_key"])


def _callback_jobs(client: TestClient, org: OrgHandle) -> list[dict[str, Any]]:
    response = client.get(
        "/api/jobs", params={"kind": "task.callback", "limit": 1000}, headers=auth(org.key)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _project(
    factory: Factory, org: OrgHandle, urls: list[str | None], **quality: Any
) -> ProjectHandle:
    return factory.project(
        org, n_tasks=len(urls), task_overrides=[{"callback_url": u} for u in urls], **quality
    )


def _check_task_callback(
    request: Received, key: str, task_id: int, event: str, status: str = "completed"
) -> dict[str, Any]:
    """The request is a callback of ``task_id`` shaped as Scale's (plus status and event);
    returns its task object."""
    assert request.headers["scale-callback-auth"] == key
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert set(body) == {"task", "response", "task_id", "status", "event"}
    assert body["task_id"] == str(task_id) == body["task"]["task_id"]
    assert (body["event"], body["status"], body["task"]["status"]) == (event, status, status)
    assert body["response"] == body["task"].get("response")
    task: dict[str, Any] = body["task"]
    return task


def test_completion_in_the_work_loop_is_called_back_with_the_key(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    """Through the real work loop (on PostgreSQL its one-statement submit): the task with a
    callback URL is POSTed once, the one without none."""
    org = factory.org()
    project = _project(factory, org, [f"{receiver.url}/hooks/scale?src=lm", None])
    worker = factory.worker(org)
    done = {answer_next(client, project.id, worker, "dog") for _ in range(2)}
    assert done == set(project.task_ids)
    with_url, without_url = project.task_ids
    (job,) = _callback_jobs(client, org)
    assert job["payload"] == {"task_id": with_url, "event": "completed"}
    assert receiver.requests == []  # nothing leaves before the worker runs the outbox

    run_due_jobs(db)
    (request,) = receiver.requests
    assert request.path == "/hooks/scale?src=lm"
    shown = _check_task_callback(request, _callback_key(client, org), with_url, "completed")
    assert request.body["response"] == {"category": "dog"}
    assert shown["callback_url"] == f"{receiver.url}/hooks/scale?src=lm"
    task = read_task(client, org, with_url)
    assert (task["callback_url"], task["callback_succeeded"], task["is_test"]) == (
        f"{receiver.url}/hooks/scale?src=lm",
        True,
        False,
    )
    other = read_task(client, org, without_url)
    assert (other["callback_url"], other["callback_succeeded"]) == (None, None)
    assert run_due_jobs(db) == 0 and len(receiver.requests) == 1


def test_a_failed_delivery_is_retried_until_the_receiver_answers_2xx(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    org = factory.org()
    project = _project(factory, org, [receiver.url])
    (task_id,) = project.task_ids
    receiver.answer_next(500)
    answer_next(client, project.id, factory.worker(org), "cat")

    run_due_jobs(db, limit=1)
    assert [r.answered for r in receiver.requests] == [500]
    # Still retrying: not a failure yet.
    assert read_task(client, org, task_id)["callback_succeeded"] is None
    (job,) = _callback_jobs(client, org)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert "HTTP 500" in job["last_error"]

    run_due_jobs(db)
    assert [r.answered for r in receiver.requests] == [500, 200]
    assert receiver.requests[0].body == receiver.requests[1].body
    assert read_task(client, org, task_id)["callback_succeeded"] is True
    (job,) = _callback_jobs(client, org)
    assert (job["status"], job["attempts"], job["last_error"]) == ("done", 2, None)


@pytest.mark.parametrize("failure", ["http_500", "http_404", "refused"])
def test_after_the_last_attempt_fails_the_task_records_it(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver, failure: str
) -> None:
    org = factory.org()
    receiver.default = {"http_500": 500, "http_404": 404}.get(failure, 200)
    url = f"http://127.0.0.1:{free_port()}/nobody" if failure == "refused" else receiver.url
    project = _project(factory, org, [url])
    (task_id,) = project.task_ids
    answer_next(client, project.id, factory.worker(org), "cat")

    assert run_due_jobs(db) == MAX_ATTEMPTS + 2  # the callback's attempts, batch and project
    assert len(receiver.requests) == (0 if failure == "refused" else MAX_ATTEMPTS)
    (job,) = _callback_jobs(client, org)
    assert (job["status"], job["attempts"], job["max_attempts"]) == (
        "failed",
        MAX_ATTEMPTS,
        MAX_ATTEMPTS,
    )
    task = read_task(client, org, task_id)
    assert task["callback_succeeded"] is False
    assert run_due_jobs(db) == 0


def test_callbacks_wait_by_their_own_backoff(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    """The callback policy of the settings applies to callback jobs, not the general one."""
    db.settings = db.settings.model_copy(
        update={"callback_backoff_base_seconds": 1000.0, "callback_backoff_max_seconds": 5000.0}
    )
    receiver.default = 503
    org = factory.org()
    project = _project(factory, org, [receiver.url, receiver.url])
    answer_next(client, project.id, factory.worker(org), "cat")
    before = datetime.now(UTC)
    assert run_due_jobs(db) == 1
    assert run_due_jobs(db) == 0, "retried before its backoff"
    with db.read_session() as session:
        job = session.scalars(select(Job).where(Job.kind == "task.callback")).one()
        assert job.status == "pending" and job.max_attempts == MAX_ATTEMPTS
        assert job.run_after - before >= timedelta(seconds=750)  # 1000 s, -25 % jitter


def test_default_retries_span_about_a_day() -> None:
    """Scale: "up to 20 times over the course of the next 24 hours"."""
    settings = Settings()
    backoff = jobs.Backoff(
        settings.callback_backoff_base_seconds, settings.callback_backoff_max_seconds
    )
    assert settings.callback_max_attempts == 20
    waits = [
        min(backoff.max_seconds, backoff.base_seconds * 2 ** (k - 1))
        for k in range(1, settings.callback_max_attempts)
    ]
    assert 22 * 3600 <= sum(waits) <= 26 * 3600


def test_a_pending_callback_survives_a_restart(
    backend: Backend, client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    """The job is a row: a new process (a fresh ``Database`` on the same URL) delivers it."""
    org = factory.org()
    project = _project(factory, org, [receiver.url, receiver.url])
    task_id = answer_next(client, project.id, factory.worker(org), "bird")
    key = _callback_key(client, org)
    db.dispose()

    restarted = make_database(backend.settings)
    try:
        assert run_due_jobs(restarted) == 1
    finally:
        restarted.dispose()
    (request,) = receiver.requests
    _check_task_callback(request, key, task_id, "completed")
    assert read_task(client, org, task_id)["callback_succeeded"] is True


def test_a_delivery_whose_worker_died_is_made_once_its_claim_lapses(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    org = factory.org()
    project = _project(factory, org, [receiver.url, receiver.url])
    task_id = answer_next(client, project.id, factory.worker(org), "cat")
    claimed = jobs.claim_next(db)  # a worker takes the job, then dies before delivering
    assert claimed is not None and claimed.kind == "task.callback"
    assert run_due_jobs(db) == 0 and receiver.requests == []  # its claim still holds

    with db.write_session() as session:  # the claim's five minutes pass
        job = session.get_one(Job, claimed.id)
        assert job.locked_until is not None
        job.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    assert run_due_jobs(db) == 1
    (request,) = receiver.requests
    _check_task_callback(request, _callback_key(client, org), task_id, "completed")
    (job_row,) = _callback_jobs(client, org)
    assert (job_row["status"], job_row["attempts"]) == ("done", 2)
    assert read_task(client, org, task_id)["callback_succeeded"] is True


def _test_key_project(client: TestClient, key: str, batch_callback: str | None) -> tuple[int, int]:
    project = client.post(
        "/api/projects",
        json={
            "name": "test-mode",
            "task_type": "categorization",
            "params": {"instruction": "Which animal?", "categories": CATEGORIES},
        },
        headers=auth(key),
    )
    assert project.status_code == 201, project.text
    batch = client.post(
        f"/api/projects/{project.json()['id']}/batches",
        json={"name": "nightly", "start": True, "callback_url": batch_callback},
        headers=auth(key),
    )
    assert batch.status_code == 201, batch.text
    return int(project.json()["id"]), int(batch.json()["id"])


def test_test_key_tasks_and_their_batch_call_back_at_once(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    org = factory.org()
    test_key = factory.key(org, "owner", test=True)
    project_id, batch_id = _test_key_project(client, test_key, f"{receiver.url}/batch")
    specs = [
        {"params": {"attachment": "a"}, "callback_url": f"{receiver.url}/task"},
        {"params": {"attachment": "b"}},
        {"params": {"attachment": "c"}, "callback_url": f"{receiver.url}/task"},
    ]
    created = client.post(
        f"/api/projects/{project_id}/tasks",
        json={"batch_id": batch_id, "tasks": specs},
        headers=auth(test_key),
    )
    assert created.status_code == 201, created.text
    first, second, third = created.json()["task_ids"]
    assert len(_callback_jobs(client, org)) == 2

    run_due_jobs(db)
    key = _callback_key(client, org)
    task_calls = sorted(
        (r for r in receiver.requests if r.path == "/task"), key=lambda r: int(r.body["task_id"])
    )
    assert [r.body["task_id"] for r in task_calls] == [str(first), str(third)]
    for request, task_id in zip(task_calls, (first, third), strict=True):
        shown = _check_task_callback(request, key, task_id, "completed")
        assert shown["is_test"] is True
        assert request.body["response"] == read_task(client, org, task_id)["response"]
    for task_id, succeeded in ((first, True), (second, None), (third, True)):
        task = read_task(client, org, task_id)
        assert (task["status"], task["is_test"], task["callback_succeeded"]) == (
            "completed",
            True,
            succeeded,
        )

    (batch_call,) = [r for r in receiver.requests if r.path == "/batch"]
    assert batch_call.headers["scale-callback-auth"] == key
    body = batch_call.body
    assert (body["batch_name"], body["status"], body["event"]) == (
        "nightly",
        "completed",
        "batch.completed",
    )
    assert body["batch"]["name"] == "nightly" and body["batch"]["status"] == "completed"
    assert body["batch"]["project"] == "test-mode"
    assert body["batch"]["callback"] == f"{receiver.url}/batch"
    audit = client.get("/api/audit", params={"limit": 1000}, headers=auth(org.key)).json()["data"]
    assert [e["action"] for e in audit].count("event.batch.completed") == 1


def test_a_failing_batch_callback_is_retried(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    org = factory.org()
    test_key = factory.key(org, "owner", test=True)
    project_id, batch_id = _test_key_project(client, test_key, receiver.url)
    receiver.answer_next(502)
    created = client.post(
        f"/api/projects/{project_id}/tasks",
        json={"batch_id": batch_id, "tasks": [{"params": {"attachment": "a"}}]},
        headers=auth(test_key),
    )
    assert created.status_code == 201, created.text
    run_due_jobs(db)
    assert [r.answered for r in receiver.requests] == [502, 200]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_a_reviewer_rejection_recalls_and_a_correction_calls_back_again(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    org = factory.org()
    reviewer = factory.reviewer(org)
    workers = [factory.worker(org) for _ in range(2)]
    project = _project(factory, org, [receiver.url], review_rate=1.0)
    (task_id,) = project.task_ids
    key = _callback_key(client, org)

    answer_next(client, project.id, workers[0], "cat")  # completed, waits for review
    run_due_jobs(db)
    completed = _check_task_callback(receiver.requests[-1], key, task_id, "completed")
    assert completed["response"] == {"category": "cat"}

    def review(decision: str, **body: Any) -> None:
        lease = client.post(
            f"/api/review/projects/{project.id}/next", headers=auth(reviewer.key)
        ).json()
        decided = client.post(
            f"/api/review/{lease['review_id']}/decide",
            json={"decision": decision, **body},
            headers=auth(reviewer.key),
        )
        assert decided.status_code == 200, decided.text

    review("reject")  # Scale's recall: completed → pending
    run_due_jobs(db)
    recalled = _check_task_callback(receiver.requests[-1], key, task_id, "recalled", "pending")
    assert "response" not in recalled and receiver.requests[-1].body["response"] is None
    assert read_task(client, org, task_id)["callback_succeeded"] is True

    answer_next(client, project.id, workers[1], "dog")  # past max_labels: completed again
    review("correct", response={"category": "bird"})
    run_due_jobs(db)
    events = [r.body["event"] for r in receiver.requests]
    assert events == ["completed", "recalled", "completed", "completed"]
    corrected = _check_task_callback(receiver.requests[-1], key, task_id, "completed")
    assert corrected["response"] == {"category": "bird"}


@pytest.mark.parametrize("event", ["audit", "error"])
def test_other_events_are_queued_for_tasks_with_a_callback_url(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver, event: str
) -> None:
    """``enqueue_task_event`` as the ``/v1`` audit route calls it; tasks without a URL are
    skipped, and ids, rows and known targets may be mixed."""
    org = factory.org()
    project = _project(factory, org, [receiver.url, None, receiver.url])
    first, second, third = project.task_ids
    with db.write_session() as session:
        queued = callbacks.enqueue_task_event(
            session,
            [first, second, callbacks.CallbackTarget(third, org.id)],
            event,  # type: ignore[arg-type]
        )
    assert queued == 2
    run_due_jobs(db)
    key = _callback_key(client, org)
    delivered = sorted(int(r.body["task_id"]) for r in receiver.requests)
    assert delivered == [first, third]
    for request in receiver.requests:
        _check_task_callback(request, key, int(request.body["task_id"]), event, "pending")
    with db.write_session() as session, pytest.raises(ValueError, match="unknown task event"):
        callbacks.enqueue_task_event(session, [first], "exploded")  # type: ignore[arg-type]


def test_a_job_for_a_missing_or_foreign_task_finishes_without_delivery(
    client: TestClient, db: Database, factory: Factory, receiver: Receiver
) -> None:
    owner, other = factory.org(), factory.org()
    project = _project(factory, owner, [receiver.url])
    with db.write_session() as session:
        for org_id, task_id in ((other.id, project.task_ids[0]), (owner.id, 10**9)):
            jobs.enqueue(
                session=session,
                kind=callbacks.TASK_CALLBACK_KIND,
                org_id=org_id,
                payload={"task_id": task_id, "event": "completed"},
            )
    assert run_due_jobs(db) == 2
    assert receiver.requests == []
    assert read_task(client, owner, project.task_ids[0])["callback_succeeded"] is None
    with db.read_session() as session:
        statuses = session.scalars(select(Job.status).where(Job.kind == "task.callback")).all()
    assert statuses == ["done", "done"]


@pytest.mark.parametrize(
    "url", ["ops@example.com", "mailto:ops@example.com", "ftp://example.com/x", "http://", ""]
)
def test_a_callback_url_that_is_not_http_is_refused_by_name(
    client: TestClient, factory: Factory, url: str
) -> None:
    org = factory.org()
    project = factory.project(org)
    response = client.post(
        f"/api/projects/{project.id}/tasks",
        json={
            "batch_id": project.batch_id,
            "tasks": [{"params": {"attachment": "a"}}, {"params": {}, "callback_url": url}],
        },
        headers=auth(org.key),
    )
    assert response.status_code == 422, response.text
    locs = [d["loc"] for d in response.json()["error"]["details"]]
    assert ["body", "tasks", 1, "callback_url"] in locs or ["tasks", 1, "callback_url"] in locs
    listed = client.get(f"/api/projects/{project.id}/tasks", headers=auth(org.key)).json()
    assert listed["data"] == []


def test_the_callback_key_is_read_and_rotated_by_managers_only(
    backend: Backend,
    app: FastAPI,
    client: TestClient,
    db: Database,
    factory: Factory,
    receiver: Receiver,
) -> None:
    org = factory.org()
    viewer = factory.key(org, "viewer")
    manager = factory.key(org, "manager")
    key = _callback_key(client, org)
    assert client.get("/api/account/callback-key", headers=auth(viewer)).status_code == 403
    assert client.post("/api/account/callback-key/rotate", headers=auth(viewer)).status_code == 403
    assert _callback_key(client, factory.org()) != key  # each organization has its own

    with serve_in_thread(app) as base_url, Client(base_url, manager) as sdk:
        assert sdk.callback_key().callback_key == key
        rotated = sdk.rotate_callback_key().callback_key
    assert rotated != key and _callback_key(client, org) == rotated

    env = backend_env(backend)
    shown = CliRunner().invoke(cli, ["org", "callback-key", org.name], env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == rotated
    again = CliRunner().invoke(cli, ["org", "callback-key", org.name, "--rotate"], env=env)
    assert again.exit_code == 0, again.output
    newest = again.output.strip()
    assert newest not in (key, rotated) and _callback_key(client, org) == newest

    # Deliveries made from now on carry the newest key.
    project = _project(factory, org, [receiver.url, receiver.url])
    task_id = answer_next(client, project.id, factory.worker(org), "cat")
    run_due_jobs(db)
    _check_task_callback(receiver.requests[0], newest, task_id, "completed")
