"""Batches through the real scaleapi SDK: create, get, list with offset paging, finalize,
status counts, metadata, errors and tenancy."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from scaleapi import ScaleClient
from scaleapi.batches import BatchStatus
from scaleapi.exceptions import (
    ScaleDuplicateResource,
    ScaleInvalidRequest,
    ScaleResourceNotFound,
    ScaleUnauthorized,
)
from scaleapi.tasks import TaskType

from labelmill.schemas.projects import BatchCreate
from labelmill.server.db.engine import Database
from labelmill.server.services import batches, projects
from labelmill.server.services.auth import CLI_ADMIN
from tests.factory import Factory, OrgHandle

ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CATS = {"instruction": "Which animal?", "categories": ["cat", "dog"]}

ScaleFactory = Callable[[str], ScaleClient]


def test_create_get_status_metadata(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    client.create_project("kittens", TaskType.Categorization, params=CATS)
    created = client.create_batch(
        "kittens", "week 1/a", callback="http://127.0.0.1:9/cb", metadata={"owner": "ml"}
    )
    assert (created.name, created.project, created.status) == ("week 1/a", "kittens", "in_progress")
    assert created.metadata == {"owner": "ml"}
    assert created.as_dict()["callback"] == "http://127.0.0.1:9/cb"
    assert ISO_MS_UTC.match(created.created_at)

    assert client.get_batch("week 1/a").as_dict() == created.as_dict()
    status = client.batch_status("week 1/a")
    assert status == {
        "status": "in_progress",
        "pending": 0,
        "completed": 0,
        "canceled": 0,
        "error": 0,
    }

    updated = client.set_batch_metadata("week 1/a", {"owner": "data", "n": 2})
    assert updated.metadata == {"owner": "data", "n": 2}  # replaced, not merged
    assert client.get_batch("week 1/a").metadata == {"owner": "data", "n": 2}
    # An empty dict arrives as no body at all (the SDK drops empty bodies): it clears.
    assert client.set_batch_metadata("week 1/a", {}).metadata == {}

    # Finalizing a batch already in progress changes nothing and still answers 200.
    assert client.finalize_batch("week 1/a").status == "in_progress"

    plain = client.create_batch("kittens", "defaults")
    assert plain.metadata == {}
    assert plain.as_dict()["callback"] == ""


def test_finalize_moves_staging_to_in_progress(factory: Factory, scale: ScaleFactory) -> None:
    # A batch made through the native API without starting it is in staging, with its
    # tasks waiting; Scale's finalize starts it, and its status counts the tasks.
    org = factory.org()
    handle = factory.project(org, n_tasks=3, start=False)
    client = scale(org.key)
    batch = client.get_batch("b1")
    assert batch.status == "staging"
    assert batch.get_status()["pending"] == 3
    assert (batch.tasks_pending, batch.tasks_completed) == (3, 0)
    finalized = batch.finalize()
    assert finalized.status == "in_progress"
    assert batch.status == "in_progress"
    assert client.batch_status("b1")["status"] == "in_progress"
    assert client.finalize_batch("b1").status == "in_progress"  # again: a no-op
    assert handle.batch_id > 0


def _batches(db: Database, org: OrgHandle, project_name: str, names: list[str]) -> None:
    with db.write_session() as session:
        project = projects.get_project_by_name(session=session, org_id=org.id, name=project_name)
        for name in names:
            batches.create_batch(
                session=session,
                project=project,
                spec=BatchCreate(name=name, start=True),
                actor=CLI_ADMIN,
            )


def test_list_with_offset_paging_and_filters(
    factory: Factory, db: Database, scale: ScaleFactory
) -> None:
    org = factory.org()
    client = scale(org.key)
    client.create_project("a", TaskType.Categorization, params=CATS)
    client.create_project("b", TaskType.Comparison)
    # 105 batches: more than one of get_batches' pages (the server's page is 100).
    _batches(db, org, "a", [f"a-{i:03d}" for i in range(105)])
    client.create_batch("b", "b-only")

    page = client.batches(project="a", limit=10, offset=0)
    assert (page.total, page.limit, page.offset, page.has_more) == (105, 10, 0, True)
    # Newest first.
    assert [b.name for b in page.docs] == [f"a-{i:03d}" for i in range(104, 94, -1)]
    last = client.batches(project="a", limit=10, offset=100)
    assert [b.name for b in last.docs] == [f"a-{i:03d}" for i in range(4, -1, -1)]
    assert last.has_more is False

    every = [b.name for b in client.get_batches(project_name="a")]
    assert sorted(every) == [f"a-{i:03d}" for i in range(105)]
    assert len(every) == 105
    assert [b.name for b in client.get_batches(project_name="b")] == ["b-only"]
    assert len(list(client.get_batches())) == 106

    assert list(client.get_batches(batch_status=BatchStatus.Completed)) == []
    staged = factory.project(org, start=False)  # its batch b1 is in staging
    assert [b.name for b in client.get_batches(batch_status=BatchStatus.Staging)] == ["b1"]
    assert staged.batch_id > 0
    assert list(client.get_batches(created_after="2999-01-01")) == []
    assert len(list(client.get_batches(created_before="2999-01-01 00:00:00.000000"))) == 107


def test_errors_map_to_the_sdks_exceptions(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    client.create_project("a", TaskType.Categorization, params=CATS)
    client.create_project("b", TaskType.Comparison)
    client.create_batch("a", "one")
    # Batch names are unique per organization in Scale, across projects.
    with pytest.raises(ScaleDuplicateResource):
        client.create_batch("a", "one")
    with pytest.raises(ScaleDuplicateResource):
        client.create_batch("b", "one")
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.create_batch("no-such-project", "two")
    assert "no-such-project" in caught.value.message
    for call in (
        lambda: client.get_batch("nope"),
        lambda: client.finalize_batch("nope"),
        lambda: client.batch_status("nope"),
        lambda: client.set_batch_metadata("nope", {"a": 1}),
    ):
        with pytest.raises(ScaleResourceNotFound):
            call()
    with pytest.raises(ScaleResourceNotFound):
        client.batches(project="no-such-project")
    with pytest.raises(ScaleInvalidRequest):
        client.batches(limit=0)
    with pytest.raises(ScaleInvalidRequest):
        client.batches(limit=101)
    with pytest.raises(ScaleInvalidRequest):
        client.batches(start_time="last tuesday")
    with pytest.raises(ScaleUnauthorized):
        scale("lm_live_wrong").create_batch("a", "three")
    assert [b.name for b in client.get_batches()] == ["one"]


def test_ambiguous_native_names_are_refused(
    factory: Factory, db: Database, scale: ScaleFactory
) -> None:
    # The native API scopes batch names to a project; two "b1" batches cannot be told apart
    # by name, so /v1 refuses to guess rather than act on either.
    org = factory.org()
    factory.project(org, start=False)
    factory.project(org, start=False)
    client = scale(org.key)
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.finalize_batch("b1")
    assert "more than one project" in caught.value.message
    assert [b.status for b in client.get_batches()] == ["staging", "staging"]


def test_other_orgs_batches_are_invisible(factory: Factory, scale: ScaleFactory) -> None:
    theirs_org = factory.org()
    factory.project(theirs_org, n_tasks=2, start=False)  # batch b1, in staging
    theirs = scale(theirs_org.key)
    theirs.create_batch(theirs.get_projects()[0].name, "theirs", metadata={"k": "v"})
    mine = scale(factory.org().key)
    for name in ("b1", "theirs"):
        with pytest.raises(ScaleResourceNotFound):
            mine.get_batch(name)
        with pytest.raises(ScaleResourceNotFound):
            mine.finalize_batch(name)
        with pytest.raises(ScaleResourceNotFound):
            mine.batch_status(name)
        with pytest.raises(ScaleResourceNotFound):
            mine.set_batch_metadata(name, {"mine": True})
    with pytest.raises(ScaleInvalidRequest):
        mine.create_batch(theirs.get_projects()[0].name, "sneaky")
    with pytest.raises(ScaleResourceNotFound):
        mine.batches(project=theirs.get_projects()[0].name)
    assert list(mine.get_batches()) == []
    # Nothing of theirs changed, and their names stay free in my organization.
    assert theirs.get_batch("b1").status == "staging"
    assert theirs.get_batch("theirs").metadata == {"k": "v"}
    mine.create_project("mine", TaskType.Comparison)
    assert mine.create_batch("mine", "theirs").project == "mine"
