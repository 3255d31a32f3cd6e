"""``labelmill report``: a project's quality report over HTTP, as text or JSON."""

from __future__ import annotations

import json

from labelmill.client import Client
from tests.cli.conftest import Invoke
from tests.factory import Factory


def _remote(url: str, key: str, project_id: int) -> list[str]:
    return ["--url", url, "--key", key, "--project", str(project_id)]


def test_report_prints_agreement_and_workers(
    invoke: Invoke, factory: Factory, server_url: str
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=2, min_labels=2, max_labels=2)
    workers = [factory.worker(org) for _ in range(2)]
    for worker in workers:
        with Client(server_url, worker.key) as client:
            while (leased := client.next_task(project.id)) is not None:
                client.submit(leased.assignment_id, {"category": "cat"}, duration_ms=250)

    text = invoke("report", *_remote(server_url, org.key, project.id))
    assert text.exit_code == 0, text.output
    assert "completed tasks: 2 tasks, 4 answers; agreement 1.000" in text.output
    assert "Fleiss' kappa -" in text.output  # one value throughout: undefined, not NaN
    for worker in workers:
        assert f"{worker.user_id:>8}  worker-" in text.output

    as_json = invoke("report", *_remote(server_url, org.key, project.id), "--json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["agreement"]["completed"]["percent_agreement"] == 1.0
    assert report["agreement"]["completed"]["fleiss_kappa"] is None
    assert {row["worker_id"] for row in report["workers"]} == {w.user_id for w in workers}


def test_report_of_a_foreign_project_fails_cleanly(
    invoke: Invoke, factory: Factory, server_url: str
) -> None:
    org, other = factory.org(), factory.org()
    project = factory.project(org)
    result = invoke("report", *_remote(server_url, other.key, project.id))
    assert result.exit_code != 0
    assert "HTTP 404" in result.output
