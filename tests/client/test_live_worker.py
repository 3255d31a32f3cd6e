"""The worker's loop through the SDK against the real server: lease, answer, skip, nothing left."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labelmill.client import Client, ConflictError, ForbiddenError, NotFoundError
from tests.factory import Factory


def test_lease_submit_until_none_left(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org = factory.org()
    handle = factory.project(org, n_tasks=2)
    worker = make_client(factory.worker(org).key)
    owner = make_client(org.key)

    (listed,) = worker.work_projects().data
    assert listed.id == handle.id
    answered = []
    while (leased := worker.next_task(handle.id)) is not None:
        assert leased.task_id in handle.task_ids
        assert worker.heartbeat(leased.assignment_id).assignment_id == leased.assignment_id
        result = worker.submit(leased.assignment_id, {"category": "cat"}, duration_ms=800)
        assert (result.task_id, result.late) == (leased.task_id, False)
        answered.append(leased.task_id)
    assert sorted(answered) == sorted(handle.task_ids)

    task = owner.tasks.get(answered[0])
    assert (task.status, task.response) == ("completed", {"category": "cat"})
    (annotation,) = owner.tasks.annotations(answered[0]).data
    assert (annotation.response, annotation.duration_ms) == ({"category": "cat"}, 800)
    assert owner.batches.counts(handle.batch_id).completed == 2


def test_skip_gives_the_task_back(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(org, n_tasks=1)
    first = make_client(factory.worker(org).key)
    second = make_client(factory.worker(org).key)

    leased = first.next_task(handle.id)
    assert leased is not None
    assert second.next_task(handle.id) is None  # the only slot is leased
    first.skip(leased.assignment_id)
    again = second.next_task(handle.id)
    assert again is not None and again.task_id == leased.task_id
    with pytest.raises(ConflictError):
        first.heartbeat(leased.assignment_id)


def test_worker_cannot_use_manager_routes_or_foreign_projects(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org, other = factory.org(), factory.org()
    foreign = factory.project(other, n_tasks=1)
    worker = make_client(factory.worker(org).key)
    with pytest.raises((ForbiddenError, NotFoundError)):
        worker.projects.create("x", "categorization", {"categories": ["a", "b"]})
    with pytest.raises(NotFoundError):
        worker.next_task(foreign.id)
