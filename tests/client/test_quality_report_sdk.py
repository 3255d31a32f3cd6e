"""``client.projects.quality`` against the real server: figures, the worker table, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labelmill.client import Client, ForbiddenError, NotFoundError
from labelmill.schemas import QualityReport
from tests.factory import Factory


def test_quality_report_over_http(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(org, n_tasks=2, min_labels=2, max_labels=2)
    answers = {0: "cat", 1: "dog"}  # worker 0 always cat, worker 1 always dog
    for i in range(2):
        worker = make_client(factory.worker(org).key)
        while (leased := worker.next_task(handle.id)) is not None:
            worker.submit(leased.assignment_id, {"category": answers[i]}, duration_ms=500)
    owner = make_client(org.key)

    report = owner.projects.quality(handle.id)
    assert isinstance(report, QualityReport)
    completed = report.agreement.completed
    # Two tasks, each cat + dog: no pair agrees; kappa = (0 - 1/2) / (1 - 1/2) = -1.
    assert (completed.tasks, completed.annotations, completed.percent_agreement) == (2, 4, 0.0)
    assert completed.fleiss_kappa == pytest.approx(-1.0)
    assert report.tasks.by_status == {"completed": 2}
    assert report.workers_total == 2 and len(report.workers) == 2
    assert all(w.answers == 2 and w.mean_duration_ms == 500.0 for w in report.workers)

    assert len(owner.projects.quality(handle.id, limit=1).workers) == 1


def test_quality_report_errors(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org, other = factory.org(), factory.org()
    handle = factory.project(org)
    with pytest.raises(NotFoundError):
        make_client(other.key).projects.quality(handle.id)
    with pytest.raises(ForbiddenError):
        make_client(factory.worker(org).key).projects.quality(handle.id)
