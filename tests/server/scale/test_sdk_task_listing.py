"""Listing tasks through the real scaleapi SDK: ``get_tasks`` paging with ``next_token`` over
more than 1,000 tasks, every filter of reference/scale_api.md §3.7, counts, and bad
filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from scaleapi import ScaleClient
from scaleapi.exceptions import ScaleInvalidRequest
from scaleapi.tasks import TaskStatus, TaskType
from sqlalchemy import update

from labelmill.schemas.tasks import TaskCreate
from labelmill.server.db.engine import Database
from labelmill.server.models import Task
from labelmill.server.services import projects, tasks
from labelmill.server.services import scale as scale_service
from labelmill.server.services.auth import CLI_ADMIN
from tests.factory import Factory

CATS = {"instruction": "Which animal?", "categories": ["cat", "dog"]}
N_TASKS = 1_050
ScaleFactory = Callable[[str], ScaleClient]


def _bulk(db: Database, org_id: int, batch_name: str, n: int, tag_every: int) -> list[int]:
    """``n`` tasks in the batch through labelmill's bulk creation (1,000 SDK calls would
    only slow the test down); every ``tag_every``-th is tagged ``pick``."""
    with db.write_session() as session:
        batch, project = scale_service.batch_by_name(
            session=session, org_id=org_id, name=batch_name
        )
        specs = [
            TaskCreate(
                params={"attachment": f"item {i}", "attachment_type": "text"},
                unique_id=f"{batch_name}-{i}",
                tags=["pick", f"n:{i}"] if i % tag_every == 0 else [f"n:{i}"],
            )
            for i in range(n)
        ]
        result = tasks.create_tasks(
            session=session,
            project=project,
            specs=specs,
            batch_id=batch.id,
            max_tasks=n,
            actor=CLI_ADMIN,
        )
        return result.task_ids


@dataclass
class Listing:
    client: ScaleClient
    ids: list[int]
    org_id: int


@pytest.fixture
def listing(factory: Factory, scale: ScaleFactory, db: Database) -> Listing:
    org = factory.org()
    client = scale(org.key)
    client.create_project("big", TaskType.Categorization, params=CATS)
    client.create_batch("big", "bulk/1")
    return Listing(client, _bulk(db, org.id, "bulk/1", N_TASKS, tag_every=7), org.id)


def test_get_tasks_pages_over_more_than_a_thousand_tasks(
    listing: Listing,
) -> None:
    client, ids = listing.client, listing.ids
    seen = [task.id for task in client.get_tasks(project_name="big")]
    # Every task once, newest first.
    assert seen == [str(i) for i in sorted(ids, reverse=True)]
    assert client.get_tasks_count(project_name="big") == N_TASKS
    assert client.get_tasks_count(batch_name="bulk/1") == N_TASKS

    # The pages one by one: each continues where the previous ended; the last one says so.
    pages = [client.tasks(project="big", limit=100)]
    while pages[-1].has_more:
        assert pages[-1].next_token
        pages.append(client.tasks(project="big", limit=100, next_token=pages[-1].next_token))
    assert [t.id for page in pages for t in page.docs] == seen
    assert [len(page.docs) for page in pages] == [100] * 10 + [50]
    assert all(page.total == N_TASKS for page in pages)
    assert pages[-1].next_token is None


def test_filters_narrow_the_paged_listing(listing: Listing, db: Database) -> None:
    client, ids = listing.client, listing.ids
    picked = [i for n, i in enumerate(ids) if n % 7 == 0]
    by_tag = [t.id for t in client.get_tasks(project_name="big", tags=["pick"])]
    assert by_tag == [str(i) for i in sorted(picked, reverse=True)]
    # Several tags: a task must carry all of them.
    both = client.get_tasks(project_name="big", tags=["pick", "n:0"])
    assert [t.id for t in both] == [str(ids[0])]

    for task_id in ids[:30]:
        client.cancel_task(str(task_id))
    canceled = client.get_tasks(project_name="big", status=TaskStatus.Canceled)
    assert sorted(int(t.id) for t in canceled) == sorted(ids[:30])
    assert client.get_tasks_count(project_name="big", status=TaskStatus.Pending) == N_TASKS - 30
    assert client.tasks(project="big", status="pending,canceled", limit=1).total == N_TASKS

    # Time windows: move 40 tasks' creation a day back.
    old = ids[100:140]
    with db.write_session() as session:
        session.execute(
            update(Task)
            .where(Task.id.in_(old))
            .values(created_at=datetime.now(UTC) - timedelta(days=1))
        )
    cutoff = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)
    before = client.get_tasks(project_name="big", created_before=cutoff.isoformat())
    assert sorted(int(t.id) for t in before) == sorted(old)
    # The same bound as start_time, written as Scale's docstring does ('YYYY-MM-DD HH:MM:SS').
    after = client.tasks(project="big", start_time=cutoff.strftime("%Y-%m-%d %H:%M:%S"))
    assert after.total == N_TASKS - len(old)
    assert client.tasks(project="big", updated_after=cutoff.isoformat(), limit=1).total == N_TASKS
    assert client.tasks(project="big", completed_after="2000-01-01", limit=1).total == 0

    assert client.tasks(project="big", type="categorization", limit=1).total == N_TASKS
    assert client.tasks(project="big", type="imageannotation", limit=1).total == 0

    uids = ["bulk/1-3", "bulk/1-5", "not-there"]
    found = client.tasks(unique_id=uids).docs
    assert sorted(int(t.id) for t in found) == sorted([ids[3], ids[5]])

    limited = client.tasks(project="big", limit=2, limited_response=True).docs
    assert all(set(t.as_dict()) <= {"task_id", "status", "metadata", "project"} for t in limited)
    assert all(t.project == "big" for t in limited)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"next_token": "not-a-token"}, "next_token"),
        ({"status": "done"}, "status"),
        ({"type": "lidar"}, "type"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"customer_review_status": "great"}, "customer_review_status"),
        ({"project": "no such project"}, "project"),
        ({"batch": "no such batch"}, "batch"),
        ({"include_attachment_url": "perhaps"}, "include_attachment_url"),
    ],
)
def test_bad_filters_are_refused_with_the_field_named(
    factory: Factory, scale: ScaleFactory, params: dict[str, object], field: str
) -> None:
    client = scale(factory.org().key)
    with pytest.raises(ScaleInvalidRequest, match=field):
        client.tasks(**params)


def test_listing_is_per_organization(
    listing: Listing, factory: Factory, scale: ScaleFactory, db: Database
) -> None:
    other = scale(factory.org().key)
    assert other.tasks(limit=1).total == 0
    with pytest.raises(ScaleInvalidRequest, match="project"):
        other.tasks(project="big")
    # A gold task is quality control, not a deliverable: never listed.
    with db.write_session() as session:
        project = projects.get_project_by_name(session=session, org_id=listing.org_id, name="big")
        tasks.create_tasks(
            session=session,
            project=project,
            specs=[
                TaskCreate(
                    params={"attachment": "gold", "attachment_type": "text"},
                    gold_answer={"category": "cat"},
                )
            ],
            batch_id=None,
            max_tasks=1,
            actor=CLI_ADMIN,
        )
    assert listing.client.get_tasks_count(project_name="big") == N_TASKS
