"""Tasks through the real scaleapi SDK on loopback: create per type with defaults, get,
cancel edge cases, metadata, tags, unique_id (conflicts and the recovery lookup), audit,
test-key completion, live completion by the workforce, errors and tenancy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from scaleapi import ScaleClient
from scaleapi.exceptions import (
    ScaleDuplicateResource,
    ScaleException,
    ScaleInvalidRequest,
    ScaleNotEnabled,
    ScaleResourceNotFound,
)
from scaleapi.tasks import TaskStatus, TaskType

from tests.factory import Factory, OrgHandle, auth
from tests.server.loop import post_next, submit_response

ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CATS = {"instruction": "Which animal?", "categories": ["cat", "dog", "bird"]}

ScaleFactory = Callable[[str], ScaleClient]


def _categorization(client: ScaleClient, project: str = "animals", **extra: Any) -> Any:
    return client.create_task(
        TaskType.Categorization,
        project=project,
        attachment="a photo of a cat",
        attachment_type="text",
        **extra,
    )


@pytest.fixture
def org(factory: Factory) -> OrgHandle:
    return factory.org()


@pytest.fixture
def sdk(org: OrgHandle, scale: ScaleFactory) -> ScaleClient:
    client = scale(org.key)
    client.create_project("animals", TaskType.Categorization, params=CATS)
    return client


def test_create_fills_defaults_and_get_reads_it_back(sdk: ScaleClient) -> None:
    sdk.create_batch("animals", "week 1")
    task = _categorization(sdk, batch="week 1", instruction="Look closely.")
    body = task.as_dict()
    assert isinstance(body["task_id"], str) and body["task_id"]
    assert (body["type"], body["status"]) == ("categorization", "pending")
    assert (body["project"], body["batch"]) == ("animals", "week 1")
    # The task's instruction first, the project's appended after it (Scale's rule).
    assert body["instruction"] == "Look closely.\n\nWhich animal?"
    assert body["params"]["attachment"] == "a photo of a cat"
    assert body["params"]["allow_multiple"] is False
    assert body["metadata"] == {} and body["is_test"] is False
    assert ISO_MS_UTC.match(body["created_at"]) and ISO_MS_UTC.match(body["updated_at"])
    # Present only once set (Scale's own tests check hasattr).
    assert not hasattr(task, "tags") and not hasattr(task, "unique_id")
    assert "response" not in body and "completed_at" not in body
    assert sdk.get_task(task.id).as_dict() == body


def test_the_batch_alone_names_the_project_and_a_mismatch_is_refused(sdk: ScaleClient) -> None:
    sdk.create_project("other", TaskType.Categorization, params=CATS)
    sdk.create_batch("other", "b-other")
    task = sdk.create_task(
        TaskType.Categorization, batch="b-other", attachment="x", attachment_type="text"
    )
    assert task.project == "other"
    with pytest.raises(ScaleInvalidRequest, match="batch"):
        _categorization(sdk, batch="b-other")  # project "animals" given too


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"attachment": None}, "attachment"),
        ({"categories": ["cat", "cow"]}, "categories"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"tags": "one-tag"}, "tags"),
        ({"callback_url": "mailto:ops@example.com"}, "callback_url"),
        ({"unexpected_param": 1}, "unexpected_param"),
    ],
)
def test_bad_create_requests_name_the_field_and_create_nothing(
    sdk: ScaleClient, extra: dict[str, Any], field: str
) -> None:
    body = {"project": "animals", "attachment": "x", "attachment_type": "text", **extra}
    with pytest.raises(ScaleInvalidRequest, match=field):
        sdk.create_task(TaskType.Categorization, **body)
    assert sdk.get_tasks_count(project_name="animals") == 0


def test_project_type_target_and_task_type_errors(sdk: ScaleClient) -> None:
    with pytest.raises(ScaleInvalidRequest, match="project"):
        sdk.create_task(TaskType.Categorization, attachment="x")  # neither project nor batch
    with pytest.raises(ScaleInvalidRequest, match="nope"):
        _categorization(sdk, project="nope")
    with pytest.raises(ScaleInvalidRequest, match="batch"):
        _categorization(sdk, batch="no such batch")
    with pytest.raises(ScaleInvalidRequest, match="takes categorization tasks"):
        sdk.create_task(TaskType.NamedEntityRecognition, project="animals", text="Ada Lovelace")
    # A Scale type labelmill does not implement: Scale's "not enabled for your account".
    with pytest.raises(ScaleNotEnabled):
        sdk.create_task(TaskType.SegmentAnnotation, project="animals", attachment="x")


def test_unique_id_conflict_names_the_task_and_the_recovery_lookup_finds_it(
    sdk: ScaleClient, base_url: str, org: OrgHandle
) -> None:
    uid = "s3://bucket/images/cat 1.png"
    first = _categorization(sdk, unique_id=uid)
    assert first.unique_id == uid
    with pytest.raises(ScaleDuplicateResource) as raised:
        _categorization(sdk, unique_id=uid)
    assert first.id in str(raised.value.message)
    # The SDK's recovery after a 5xx on create: GET tasks?unique_id=<value>, the value put
    # into the URL as it is (an f-string, not encoded).
    recovered = httpx.get(f"{base_url}/v1/tasks?unique_id={uid}", auth=(org.key, ""))
    assert recovered.status_code == 200
    assert [d["task_id"] for d in recovered.json()["docs"]] == [first.id]
    assert [t.id for t in sdk.tasks(unique_id=[uid, "unknown"]).docs] == [first.id]
    assert sdk.get_tasks_count(project_name="animals") == 1

    second = _categorization(sdk, unique_id="second")
    with pytest.raises(ScaleDuplicateResource, match=first.id):
        sdk.update_task_unique_id(second.id, uid)
    assert sdk.update_task_unique_id(second.id, "second-renamed").unique_id == "second-renamed"
    # Re-setting a task's own unique_id is no conflict.
    assert sdk.update_task_unique_id(second.id, "second-renamed").unique_id == "second-renamed"

    cleared = sdk.clear_task_unique_id(first.id)
    assert "unique_id" not in cleared.as_dict()
    assert _categorization(sdk, unique_id=uid).unique_id == uid  # free again
    with pytest.raises(ScaleInvalidRequest, match="unique_id"):
        sdk.api.post_request(f"task/{second.id}/unique_id", body={"unique_id": ""})


def test_cancel_edge_cases(sdk: ScaleClient, factory: Factory, org: OrgHandle, scale: Any) -> None:
    pending = _categorization(sdk, unique_id="to-cancel")
    canceled = sdk.cancel_task(pending.id)
    assert canceled.status == "canceled" and canceled.unique_id == "to-cancel"
    # Canceling again is a 200 (Scale: idempotent), still canceled.
    assert sdk.cancel_task(pending.id).status == "canceled"
    # clear_unique_id frees the id, also on a task already canceled.
    assert "unique_id" not in sdk.cancel_task(pending.id, clear_unique_id=True).as_dict()
    assert _categorization(sdk, unique_id="to-cancel").status == "pending"

    test_client = scale(factory.key(org, "owner", test=True))
    completed = _categorization(test_client)
    assert completed.status == "completed"
    with pytest.raises(ScaleInvalidRequest, match="completed"):
        test_client.cancel_task(completed.id)
    assert test_client.get_task(completed.id).status == "completed"
    for missing in ("999999999", "not-an-id", "%2F"):
        with pytest.raises(ScaleResourceNotFound):
            sdk.cancel_task(missing)


def test_metadata_is_replaced_and_an_empty_one_arrives_without_a_body(sdk: ScaleClient) -> None:
    task = _categorization(sdk, metadata={"source": "crawl", "n": 1})
    assert task.metadata == {"source": "crawl", "n": 1}
    assert sdk.set_task_metadata(task.id, {"n": 2}).metadata == {"n": 2}
    assert sdk.get_task(task.id).metadata == {"n": 2}
    assert sdk.set_task_metadata(task.id, {}).metadata == {}
    with pytest.raises(ScaleInvalidRequest, match="10 KB"):
        sdk.set_task_metadata(task.id, {"blob": "x" * 11_000})
    assert sdk.get_task(task.id).metadata == {}


def test_tags_keep_their_order(sdk: ScaleClient) -> None:
    task = _categorization(sdk, tags=["weather:rainy"])
    assert task.tags == ["weather:rainy"]
    assert sdk.set_task_tags(task.id, ["b", "a", "b"]).tags == ["b", "a"]
    assert sdk.add_task_tags(task.id, ["a", "c", "d"]).tags == ["b", "a", "c", "d"]
    assert sdk.delete_task_tags(task.id, ["a", "zzz"]).tags == ["b", "c", "d"]
    assert sdk.get_task(task.id).tags == ["b", "c", "d"]
    # An empty list arrives as no body: the tags are replaced by none.
    assert not hasattr(sdk.set_task_tags(task.id, []), "tags")
    with pytest.raises(ScaleInvalidRequest, match="array"):
        sdk.api.post_request(f"task/{task.id}/tags", body={"tags": ["x"]})
    # Too long a tag or unique_id is refused naming the field, and changes nothing.
    with pytest.raises(ScaleInvalidRequest, match="tags: a tag is at most 200"):
        sdk.add_task_tags(task.id, ["e", "x" * 201])
    with pytest.raises(ScaleInvalidRequest, match="unique_id: at most 500"):
        sdk.api.post_request(f"task/{task.id}/unique_id", body={"unique_id": "u" * 501})
    after = sdk.get_task(task.id)
    assert not hasattr(after, "tags") and getattr(after, "unique_id", None) is None


def test_test_key_completes_at_once_with_a_scale_response(
    factory: Factory, org: OrgHandle, scale: ScaleFactory
) -> None:
    client = scale(factory.key(org, "owner", test=True))
    client.create_project("animals", TaskType.Categorization, params=CATS)
    client.create_batch("animals", "test batch")
    task = _categorization(client, batch="test batch")
    body = task.as_dict()
    assert body["status"] == "completed" and body["is_test"] is True
    assert ISO_MS_UTC.match(body["completed_at"])
    assert body["response"]["category"] in CATS["categories"]
    assert client.batch_status("test batch")["completed"] == 1
    assert client.get_batch("test batch").status == "completed"


def _complete_by_a_worker(
    client: TestClient, factory: Factory, org: OrgHandle, project_name: str, response: Any
) -> int:
    """Staff the project with one worker, make one answer enough, and answer its task."""
    projects = client.get("/api/projects", headers=auth(org.key)).json()["data"]
    project_id = next(p["id"] for p in projects if p["name"] == project_name)
    updated = client.patch(
        f"/api/projects/{project_id}",
        json={"min_labels": 1, "max_labels": 1},
        headers=auth(org.key),
    )
    assert updated.status_code == 200, updated.text
    staffed = client.post(
        f"/api/projects/{project_id}/staffing", json={"pool_id": org.pool_id}, headers=auth(org.key)
    )
    assert staffed.status_code == 201, staffed.text
    worker = factory.worker(org)
    lease = post_next(client, project_id, worker.key)
    assert lease.status_code == 200, lease.text
    done = submit_response(client, lease.json()["assignment_id"], worker.key, response)
    assert done.status_code == 200, done.text
    return int(lease.json()["task_id"])


def test_a_live_task_completed_by_the_workforce_reads_back_in_scale_shape(
    sdk: ScaleClient, client: TestClient, factory: Factory, org: OrgHandle
) -> None:
    task = _categorization(sdk, metadata={"k": "v"})
    assert task.status == "pending"
    answered = _complete_by_a_worker(client, factory, org, "animals", {"category": "dog"})
    assert str(answered) == task.id
    done = sdk.get_task(task.id).as_dict()
    assert done["status"] == "completed" and done["response"] == {"category": "dog"}
    assert ISO_MS_UTC.match(done["completed_at"])
    completed = sdk.get_tasks(project_name="animals", status=TaskStatus.Completed)
    assert [t.id for t in completed] == [task.id]

    # The customer's audit: only a delivered task, recorded and filterable.
    with pytest.raises(ScaleInvalidRequest, match="pending"):
        sdk.audit_task(_categorization(sdk).id, True)
    sdk.audit_task(task.id, False, "the dog is a wolf")
    assert sdk.get_task(task.id).customer_review_status == "rejected"
    rejected = sdk.tasks(project="animals", customer_review_status="rejected").docs
    assert [t.id for t in rejected] == [task.id]
    assert sdk.tasks(project="animals", customer_review_status="pending").total == 0
    sdk.audit_task(task.id, True)
    assert sdk.get_task(task.id).customer_review_status == "accepted"


def test_other_organizations_tasks_do_not_exist(
    sdk: ScaleClient, factory: Factory, scale: ScaleFactory
) -> None:
    task = _categorization(sdk, unique_id="mine")
    intruder = scale(factory.org().key)
    calls: list[Callable[[], Any]] = [
        lambda: intruder.get_task(task.id),
        lambda: intruder.cancel_task(task.id),
        lambda: intruder.set_task_tags(task.id, ["x"]),
        lambda: intruder.set_task_metadata(task.id, {"x": 1}),
        lambda: intruder.clear_task_unique_id(task.id),
        lambda: intruder.audit_task(task.id, True),
    ]
    for call in calls:
        with pytest.raises(ScaleResourceNotFound):
            call()
    assert intruder.tasks(unique_id="mine").total == 0
    # The unique_id space is per organization: the other one may use the same id.
    intruder.create_project("animals", TaskType.Categorization, params=CATS)
    assert _categorization(intruder, unique_id="mine").unique_id == "mine"
    untouched = sdk.get_task(task.id)
    assert (untouched.status, untouched.metadata) == ("pending", {})
    assert not hasattr(untouched, "tags") and untouched.unique_id == "mine"


def test_a_viewer_key_reads_but_cannot_write(
    sdk: ScaleClient, factory: Factory, org: OrgHandle, scale: ScaleFactory
) -> None:
    task = _categorization(sdk)
    viewer = scale(factory.key(org, "viewer"))
    assert viewer.get_task(task.id).id == task.id
    with pytest.raises(ScaleException) as raised:
        viewer.cancel_task(task.id)
    assert raised.value.code == 403
    with pytest.raises(ScaleException) as raised:
        _categorization(viewer)
    assert raised.value.code == 403
    assert sdk.get_task(task.id).status == "pending"
