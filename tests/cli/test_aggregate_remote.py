"""``labelmill aggregate --project``: a project re-aggregated on a live server, as a job."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelmill.client import Client
from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import BackgroundWorker
from tests.cli.conftest import Invoke
from tests.factory import Factory, auth


@pytest.fixture
def background_worker(db: Database) -> Iterator[None]:
    """The job worker ``labelmill serve`` runs in-process (off in the test app)."""
    worker = BackgroundWorker(db)
    worker.start()
    yield
    worker.stop()


def _remote(url: str, key: str, project_id: int) -> list[str]:
    return ["--url", url, "--key", key, "--project", str(project_id)]


def test_queue_without_waiting_then_wait_for_a_run(
    invoke: Invoke, factory: Factory, server_url: str, background_worker: None
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1)
    worker = factory.worker(org)
    lease = httpx.post(
        f"{server_url}/api/work/projects/{project.id}/next", headers=auth(worker.key)
    )
    httpx.post(
        f"{server_url}/api/work/assignments/{lease.json()['assignment_id']}/submit",
        json={"response": {"category": "cat"}},
        headers=auth(worker.key),
    )

    waited = invoke("aggregate", *_remote(server_url, org.key, project.id), "--method", "ds")
    assert waited.exit_code == 0, waited.output
    job_id = int(re.search(r"queued as job (\d+) \(ds\)", waited.output).group(1))  # type: ignore[union-attr]
    assert f"job {job_id} done: 0 answer(s) changed" in waited.output

    queued = invoke("aggregate", *_remote(server_url, org.key, project.id), "--no-wait")
    assert queued.exit_code == 0 and "queued as job" in queued.output
    with Client(server_url, org.key) as client:
        kinds = [j.kind for j in client.jobs.iter(kind="project.reaggregate")]
    assert kinds == ["project.reaggregate", "project.reaggregate"]


def test_usage_errors(invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path) -> None:
    org = factory.org()
    project = factory.project(org)
    labels = tmp_path / "labels.csv"
    labels.write_text("worker,task,label\nw1,t1,a\n")
    both = invoke("aggregate", str(labels), *_remote(server_url, org.key, project.id))
    assert both.exit_code == 2 and "not both" in both.output
    offline_only = invoke(
        "aggregate", *_remote(server_url, org.key, project.id), "--method", "glad"
    )
    assert offline_only.exit_code == 2 and "offline only" in offline_only.output
    nothing = invoke("aggregate")
    assert nothing.exit_code == 2 and "LABELS.csv" in nothing.output
    foreign = invoke("aggregate", *_remote(server_url, factory.org().key, project.id))
    assert foreign.exit_code == 1 and "404" in foreign.output
