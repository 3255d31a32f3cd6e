"""The SDK's reviewer calls against the real server."""

from __future__ import annotations

from collections.abc import Callable

from labelmill.client import Client
from tests.factory import Factory


def test_review_a_task_through_the_sdk(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=1, review_rate=1.0)
    annotator = make_client(factory.worker(org).key)
    reviewer = make_client(factory.reviewer(org).key)
    leased = annotator.next_task(project.id)
    assert leased is not None
    annotator.submit(leased.assignment_id, {"category": "dog"})

    lease = reviewer.next_review(project.id)
    assert lease is not None and lease.answer == {"category": "dog"}
    decided = reviewer.decide_review(lease.review_id, "correct", {"category": "bird"})
    assert (decided.task_id, decided.response) == (leased.task_id, {"category": "bird"})
    assert reviewer.next_review(project.id) is None
    owner = make_client(org.key)
    assert owner.tasks.get(leased.task_id).response == {"category": "bird"}
    assert [r.method for r in owner.projects.revisions(project.id).data] == ["review"]
