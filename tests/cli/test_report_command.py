"""``labelmill report``: a project's quality report over HTTP, as text or JSON."""

from __future__ import annotations

import json

from labelmill.cli.report_command import render
from labelmill.client import Client
from labelmill.schemas.quality import (
    AgreementReport,
    AgreementStats,
    ModelScore,
    QualityReport,
    TaskStats,
)
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


def test_render_lists_the_models_of_a_pairwise_project() -> None:
    stats = AgreementStats(
        tasks=0, annotations=0, percent_agreement=None, fleiss_kappa=None, krippendorff_alpha=None
    )
    report = QualityReport(
        project_id=7,
        agreement=AgreementReport(
            completed=stats, all_tasks=stats, sampled=False, sample_limit=50_000
        ),
        tasks=TaskStats(
            total=2,
            gold=0,
            by_status={"completed": 2},
            mean_labels_per_completed=1.0,
            mean_confidence_completed=0.75,
        ),
        workers=[],
        workers_total=0,
        models=[
            ModelScore(model="big", score=0.4, win_probability=0.599, comparisons=2, wins=1.5),
            ModelScore(model="small", score=-0.4, win_probability=0.401, comparisons=2, wins=0.5),
        ],
    )
    lines = render(report).splitlines()
    at = lines.index(next(line for line in lines if line.startswith("model")))
    assert lines[at + 1].split() == ["big", "0.400", "0.599", "1.5", "2"]
    assert lines[at + 2].split() == ["small", "-0.400", "0.401", "0.5", "2"]
