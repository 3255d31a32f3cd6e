"""The manager's workflow through the SDK against the real server (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labelmill.client import Client, ConflictError
from labelmill.schemas import TaskCreate
from tests.factory import CATEGORIES, Factory

PARAMS = {"instruction": "Which animal?", "categories": CATEGORIES}


def test_health_and_me(factory: Factory, make_client: Callable[[str], Client]) -> None:
    owner = make_client(factory.org(name="acme").key)
    assert owner.health().status == "ok"
    me = owner.me()
    assert (me.org_name, me.role, me.user_id) == ("acme", "owner", None)


def test_project_create_update_versions(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    owner = make_client(factory.org().key)
    project = owner.projects.create("animals", "categorization", PARAMS, min_labels=2)
    assert (project.min_labels, project.params_version) == (2, 1)
    assert owner.projects.get(project.id) == project

    renamed = owner.projects.update(project.id, name="beasts")
    assert (renamed.name, renamed.min_labels, renamed.params_version) == ("beasts", 2, 1)
    new_params = {**PARAMS, "instruction": "Which beast?"}
    revised = owner.projects.update(project.id, params=new_params)
    assert revised.params_version == 2
    versions = owner.projects.versions(project.id).data
    assert sorted(v.version for v in versions) == [1, 2]
    assert {v.version: v.params["instruction"] for v in versions}[2] == "Which beast?"

    owner.projects.create("second", "categorization", PARAMS)
    assert [p.name for p in owner.projects.iter(page_size=1)] == ["beasts", "second"]


def test_batches_tasks_and_filters(factory: Factory, make_client: Callable[[str], Client]) -> None:
    owner = make_client(factory.org().key)
    project = owner.projects.create("animals", "categorization", PARAMS)
    batch = owner.batches.create(project.id, "first", metadata={"source": "sdk"})
    assert (batch.status, batch.metadata) == ("staging", {"source": "sdk"})

    tasks = [
        TaskCreate(params={"attachment": f"item {i}"}, unique_id=f"u{i}", tags=["odd"] * (i % 2))
        for i in range(5)
    ]
    created = owner.tasks.create_many(project.id, tasks, batch_id=batch.id)
    assert (created.created, len(created.task_ids), created.existing) == (5, 5, [])

    again = owner.tasks.create_many(
        project.id, [{"params": {"attachment": "x"}, "unique_id": "u3"}], batch_id=batch.id
    )
    assert again.created == 0
    assert [(e.index, e.unique_id, e.task_id) for e in again.existing] == [
        (0, "u3", created.task_ids[3])
    ]

    every = list(owner.tasks.iter(project.id, page_size=2))
    assert [t.id for t in every] == created.task_ids
    (found,) = owner.tasks.list(project.id, unique_id="u2").data
    assert (found.id, found.batch_id, found.metadata) == (created.task_ids[2], batch.id, {})
    assert owner.tasks.list(project.id, status="completed").data == []
    assert owner.tasks.list(project.id, is_gold=True).data == []

    started = owner.batches.start(batch.id)
    assert started.status == "in_progress"
    assert [b.id for b in owner.batches.iter(project.id)][-1] == batch.id
    counts = owner.batches.counts(batch.id)
    assert (counts.pending, counts.completed, counts.canceled) == (5, 0, 0)


def test_tag_filter(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(
        org, n_tasks=4, task_overrides=[{"tags": ["odd"] * (i % 2)} for i in range(4)]
    )
    owner = make_client(org.key)
    assert [t.id for t in owner.tasks.iter(handle.id, tag="odd")] == handle.task_ids[1::2]
    assert owner.tasks.list(handle.id, tag="none").data == []


def test_task_update_and_cancel(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(org, n_tasks=1)
    owner = make_client(org.key)
    (task_id,) = handle.task_ids

    updated = owner.tasks.update(task_id, priority=7, metadata={"k": "v"})
    assert (updated.priority, updated.metadata, updated.tags) == (7, {"k": "v"}, [])
    assert owner.tasks.update(task_id, tags=["t"]).priority == 7  # left out: unchanged

    assert owner.tasks.cancel(task_id).status == "canceled"
    with pytest.raises(ConflictError) as caught:
        owner.tasks.cancel(task_id)
    assert caught.value.code == "conflict"
    assert owner.batches.counts(handle.batch_id).canceled == 1


def test_pools_workers_staffing_jobs_audit(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    owner = make_client(factory.org().key)
    project = owner.projects.create("animals", "categorization", PARAMS)
    pool = owner.pools.create("night shift")
    assert pool.name in [p.name for p in owner.pools.iter()]

    worker = owner.workers.create("Ada", pool_id=pool.id)
    assert worker.api_key.startswith("lm_")
    staffing = owner.projects.add_staffing(project.id, pool.id)
    assert (staffing.project_id, staffing.pool_id) == (project.id, pool.id)

    as_worker = make_client(worker.api_key)
    assert [p.id for p in as_worker.work_projects().data] == [project.id]
    owner.projects.remove_staffing(project.id, pool.id)
    assert as_worker.work_projects().data == []

    other = owner.workers.create("Bob")
    member = owner.pools.add_member(pool.id, other.user_id, reviewer=True)
    assert (member.is_annotator, member.is_reviewer) == (True, True)
    owner.pools.remove_member(pool.id, other.user_id)

    assert isinstance(owner.jobs.list().data, list)
    actions = {event.action for event in owner.audit.iter()}
    assert {"project.create"} <= actions
    assert all(e.action == "project.create" for e in owner.audit.iter(action="project.create"))
