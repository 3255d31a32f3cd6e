"""Every Scale task type through the real scaleapi SDK — created with Scale's params, answered
by a labelmill worker (live key) or at once (test key), read back in Scale's response shape
— and callbacks to a real receiver on loopback: the key in ``scale-callback-auth``, the
payload as ``GET /v1/task`` shows the task, and a retry after a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scaleapi import ScaleClient
from scaleapi.tasks import TaskType

from labelmill.server.db.engine import Database
from labelmill.server.jobs.runner import run_due_jobs
from tests.conftest import Backend
from tests.factory import Factory, OrgHandle, auth
from tests.server.scale.test_sdk_tasks import _complete_by_a_worker
from tests.server.test_callbacks import Receiver

ScaleFactory = Callable[[str], ScaleClient]


@dataclass(frozen=True)
class TypeCase:
    scale_type: TaskType
    project_params: dict[str, Any]
    task: dict[str, Any]
    native_answer: dict[str, Any]
    scale_answer: Callable[[dict[str, Any]], bool]


def _boxes(response: dict[str, Any]) -> bool:
    (box,) = response["annotations"]
    expected = {"type": "box", "label": "car", "left": 1, "top": 2, "width": 30, "height": 40}
    return {k: box[k] for k in expected} == expected and isinstance(box["uuid"], str)


def _entities(response: dict[str, Any]) -> bool:
    found = [(a["text"], a["label"], a["start"], a["end"]) for a in response["annotations"]]
    return found == [("Ada", "PER", 0, 3), ("IBM", "ORG", 13, 16)]


CASES = [
    TypeCase(
        TaskType.Categorization,
        {"instruction": "Animal?", "categories": ["cat", "dog"]},
        {"attachment": "a dog barks", "attachment_type": "text"},
        {"category": "dog"},
        lambda r: r == {"category": "dog"},
    ),
    TypeCase(
        TaskType.TextCollection,
        {
            "instruction": "Translate.",
            "fields": [
                {"name": "answer", "type": "text"},
                {"name": "lang", "type": "choice", "choices": ["en", "fr"]},
            ],
        },
        {"attachments": [{"type": "text", "content": "Bonjour"}]},
        {"fields": {"answer": "Hello", "lang": "fr"}},
        lambda r: r == {"annotations": {"answer": "Hello", "lang": ["fr"]}},
    ),
    TypeCase(
        TaskType.ImageAnnotation,
        {"instruction": "Box the cars.", "objects": [{"label": "car", "geometry": "box"}]},
        {"attachment": "https://img.example.com/1.png", "width": 640, "height": 480},
        {
            "annotations": [
                {"label": "car", "type": "box", "left": 1, "top": 2, "width": 30, "height": 40}
            ]
        },
        _boxes,
    ),
    TypeCase(
        TaskType.NamedEntityRecognition,
        {"instruction": "People and companies.", "labels": ["PER", "ORG"]},
        {"text": "Ada works at IBM"},
        {
            "spans": [
                {"start": 0, "end": 3, "label": "PER"},
                {"start": 13, "end": 16, "label": "ORG"},
            ]
        },
        _entities,
    ),
    TypeCase(
        TaskType.Comparison,
        {"instruction": "Which answer is better?"},
        {
            "attachments": ["Paris is the capital.", "Lyon is the capital."],
            "context": "What is the capital of France?",
            "choices": ["first", "second", "same", "neither"],
        },
        {"choice": "a"},
        lambda r: r["choice"] == "first",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.scale_type.value)
def test_a_live_task_of_every_type_reads_back_in_scale_shape(
    case: TypeCase,
    factory: Factory,
    scale: ScaleFactory,
    client: TestClient,
) -> None:
    org = factory.org()
    sdk = scale(org.key)
    sdk.create_project("p", case.scale_type, params=case.project_params)
    created = sdk.create_task(case.scale_type, project="p", **case.task)
    assert (created.status, created.type) == ("pending", case.scale_type.value)
    assert "response" not in created.as_dict()
    _complete_by_a_worker(client, factory, org, "p", case.native_answer)
    done = sdk.get_task(created.id)
    assert done.status == "completed"
    assert case.scale_answer(done.response), done.response
    assert [t.id for t in sdk.get_tasks(project_name="p", task_type=case.scale_type)] == [done.id]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.scale_type.value)
def test_a_test_key_completes_every_type_with_a_placeholder_in_scale_shape(
    case: TypeCase, factory: Factory, scale: ScaleFactory
) -> None:
    org = factory.org()
    sdk = scale(factory.key(org, "owner", test=True))
    sdk.create_project("p", case.scale_type, params=case.project_params)
    task = sdk.create_task(case.scale_type, project="p", **case.task)
    assert task.status == "completed" and task.is_test is True
    response = task.response
    assert isinstance(response, dict) and response
    # The placeholder speaks the same per-type shape a live answer does.
    shape_key = {
        "categorization": "category",
        "textcollection": "annotations",
        "imageannotation": "annotations",
        "namedentityrecognition": "annotations",
        "comparison": "choice",
    }[case.scale_type.value]
    assert shape_key in response
    assert sdk.get_task(task.id).response == response


# --- callbacks -------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _quick_retries(backend: Backend) -> None:
    """No waiting between attempts: the tests run the due jobs themselves."""
    backend.settings = backend.settings.model_copy(
        update={"callback_backoff_base_seconds": 0.0, "callback_backoff_max_seconds": 0.0}
    )


def _callback_key(client: TestClient, org: OrgHandle) -> str:
    answer = client.get("/api/account/callback-key", headers=auth(org.key))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["callback_key"])


def test_a_completed_task_calls_back_with_the_key_and_retries_after_a_500(
    factory: Factory,
    scale: ScaleFactory,
    client: TestClient,
    db: Database,
    receiver: Receiver,
) -> None:
    org = factory.org()
    sdk = scale(factory.key(org, "owner", test=True))
    sdk.create_project("p", TaskType.Categorization, params=CASES[0].project_params)
    receiver.answer_next(500)
    task = sdk.create_task(
        TaskType.Categorization,
        project="p",
        callback_url=f"{receiver.url}/scale/cb?team=ml",
        **CASES[0].task,
    )
    assert task.status == "completed" and "callback_succeeded" not in task.as_dict()
    run_due_jobs(db)  # first attempt: the receiver answers 500, the job is due again at once
    run_due_jobs(db)
    assert [r.answered for r in receiver.requests] == [500, 200]
    delivered = receiver.requests[-1]
    assert delivered.path == "/scale/cb?team=ml"
    assert delivered.headers["scale-callback-auth"] == _callback_key(client, org)
    assert delivered.headers["content-type"].startswith("application/json")
    body = delivered.body
    assert body["task_id"] == task.id
    assert body["response"] == body["task"]["response"] == task.response
    read_back = sdk.get_task(task.id).as_dict()
    assert read_back["callback_succeeded"] is True
    # The payload's task is the task as GET /v1/task shows it (before delivery was recorded).
    assert body["task"] == {k: v for k, v in read_back.items() if k != "callback_succeeded"}


def test_a_live_task_calls_back_when_the_workforce_completes_it_and_audits_call_again(
    factory: Factory,
    scale: ScaleFactory,
    client: TestClient,
    db: Database,
    receiver: Receiver,
) -> None:
    org = factory.org()
    sdk = scale(org.key)
    sdk.create_project("p", TaskType.Categorization, params=CASES[0].project_params)
    task = sdk.create_task(
        TaskType.Categorization, project="p", callback_url=receiver.url, **CASES[0].task
    )
    run_due_jobs(db)
    assert receiver.requests == []  # nothing to say while pending
    _complete_by_a_worker(client, factory, org, "p", {"category": "cat"})
    run_due_jobs(db)
    assert [r.body["response"] for r in receiver.requests] == [{"category": "cat"}]
    sdk.audit_task(task.id, False, "it is a dog")
    run_due_jobs(db)
    assert len(receiver.requests) == 2
    audited = receiver.requests[-1].body["task"]
    assert audited["customer_review_status"] == "rejected"
    assert {r.headers["scale-callback-auth"] for r in receiver.requests} == {
        _callback_key(client, org)
    }
