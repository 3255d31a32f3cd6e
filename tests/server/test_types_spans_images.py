"""text_spans and image_annotation through the real work loop, on both databases: projects
and tasks created through the API, workers answering through /api/work, tasks settled by
aggregate_spans / aggregate_boxes, bad answers refused naming the field, and the types'
exports (CoNLL, spaCy, COCO, YOLO) out of the export route."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelmill.formats.coco import read_coco
from labelmill.formats.conll import read_conll, spans_from_tags
from labelmill.formats.spacy_json import read_spacy
from labelmill.formats.yolo import read_yolo
from labelmill.tasktypes import Answer, get_task_type
from tests.factory import Factory, OrgHandle, auth
from tests.server.loop import (
    check_invalid_answer_is_refused,
    create_project,
    import_tasks,
    post_next,
    read_task,
    submit_response,
)

TEXT = "Ada Lovelace met Charles Babbage in London."
SPANS_PROJECT = {"labels": ["PER", "LOC"], "relations": ["met"]}
ADA = {"start": 0, "end": 12, "label": "PER"}
CHARLES = {"start": 17, "end": 32, "label": "PER"}
LONDON = {"start": 36, "end": 42, "label": "LOC"}

IMAGE = {"image": "https://images.invalid/street.jpg", "width": 640, "height": 480}
IMAGE_PROJECT = {
    "objects": [
        {
            "label": "car",
            "geometry": "box",
            "attributes": [{"name": "color", "type": "choice", "choices": ["red", "blue"]}],
        },
        {"label": "light", "geometry": "point"},
    ]
}


def _car(left: int, color: str = "red") -> dict[str, Any]:
    return {
        "label": "car",
        "type": "box",
        "left": left,
        "top": 100,
        "width": 200,
        "height": 100,
        "attributes": {"color": color},
    }


LIGHT = {"label": "light", "type": "point", "x": 50, "y": 60, "attributes": {}}


def _export(client: TestClient, org: OrgHandle, project_id: int, fmt: str) -> bytes:
    got = client.get(
        f"/api/projects/{project_id}/export", params={"format": fmt}, headers=auth(org.key)
    )
    assert got.status_code == 200, got.text
    return got.content


CASES = [
    (
        "text_spans",
        SPANS_PROJECT,
        {"text": TEXT},
        [
            {"spans": [ADA, CHARLES, LONDON], "relations": [{"from": 0, "to": 1, "label": "met"}]},
            {"spans": [ADA, {**CHARLES, "label": "LOC"}, LONDON]},
            {"spans": [LONDON, ADA, CHARLES], "relations": [{"from": 1, "to": 2, "label": "met"}]},
        ],
        {
            "spans": [ADA, CHARLES, LONDON],
            "relations": [{"from": 0, "to": 1, "label": "met"}],
        },
    ),
    (
        "image_annotation",
        IMAGE_PROJECT,
        IMAGE,
        [
            {"annotations": [_car(100), LIGHT]},
            {"annotations": [_car(104, "blue")]},
            {"annotations": [_car(102), {**LIGHT, "x": 52}]},
        ],
        {"annotations": [{**_car(102), "left": 102}, LIGHT]},
    ),
]


@pytest.mark.parametrize(
    ("task_type", "params", "task", "answers", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_tasks_settle_through_the_work_loop(
    client: TestClient,
    factory: Factory,
    task_type: str,
    params: dict[str, Any],
    task: dict[str, Any],
    answers: list[dict[str, Any]],
    expected: dict[str, Any],
) -> None:
    org = factory.org()
    workers = [factory.worker(org) for _ in range(3)]
    project_id, batch_id = create_project(
        client, org, task_type, params, min_labels=2, max_labels=3, confidence_target=0.95
    )
    [task_id] = import_tasks(client, org, project_id, batch_id, [task])
    kind = get_task_type(task_type)
    assert kind is not None
    project = client.get(f"/api/projects/{project_id}", headers=auth(org.key)).json()
    for n, (worker, response) in enumerate(zip(workers, answers, strict=True), start=1):
        lease = post_next(client, project_id, worker.key)
        assert lease.status_code == 200, lease.text
        assert lease.json()["task_id"] == task_id
        assert lease.json()["data"] == kind.worker_view(
            project["params"], read_task(client, org, task_id)["params"]
        )
        done = submit_response(client, lease.json()["assignment_id"], worker.key, response)
        assert done.status_code == 200, done.text
        state = read_task(client, org, task_id)
        assert state["n_annotations"] == n
        # Two disagreeing answers cannot reach 0.95; the third completes at max_labels.
        assert state["status"] == ("completed" if n == 3 else "pending"), state
    state = read_task(client, org, task_id)
    assert state["response"] == expected
    clean = [kind.validate_response(r, project["params"], state["params"]) for r in answers]
    settled = kind.settle(
        [Answer(i, r, None) for i, r in enumerate(clean)],
        project_params=project["params"],
        task_params=state["params"],
        confidence_target=0.95,
        at_max_labels=True,
    )
    assert state["confidence"] == pytest.approx(settled.confidence)
    assert 0.0 < state["confidence"] < 1.0


@pytest.mark.parametrize(
    ("task_type", "params", "task", "bad", "loc", "good"),
    [
        (
            "text_spans",
            SPANS_PROJECT,
            {"text": TEXT},
            {"spans": [ADA, {"start": 40, "end": 50, "label": "LOC"}]},
            ["response", "spans", 1, "end"],
            {"spans": [ADA]},
        ),
        (
            "image_annotation",
            IMAGE_PROJECT,
            IMAGE,
            {"annotations": [LIGHT, _car(500)]},
            ["response", "annotations", 1, "width"],
            {"annotations": [_car(400)]},
        ),
    ],
)
def test_an_invalid_answer_gets_a_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    factory: Factory,
    task_type: str,
    params: dict[str, Any],
    task: dict[str, Any],
    bad: dict[str, Any],
    loc: list[Any],
    good: dict[str, Any],
) -> None:
    org = factory.org()
    check_invalid_answer_is_refused(
        client, org, factory.worker(org), (task_type, params, task, bad, loc, good)
    )


def test_span_exports_come_out_of_the_export_route(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    worker = factory.worker(org)
    project_id, batch_id = create_project(client, org, "text_spans", SPANS_PROJECT)
    [task_id] = import_tasks(client, org, project_id, batch_id, [{"text": TEXT}])
    lease = post_next(client, project_id, worker.key).json()
    answer = {"spans": [ADA, LONDON]}
    assert submit_response(client, lease["assignment_id"], worker.key, answer).status_code == 200
    [sentence] = read_conll([_export(client, org, project_id, "conll")])
    assert sentence.task_id == task_id
    assert spans_from_tags(TEXT, sentence) == [ADA, LONDON]
    [example] = read_spacy([_export(client, org, project_id, "spacy")])
    assert example.text == TEXT and example.entities == [(0, 12, "PER"), (36, 42, "LOC")]


def test_image_exports_come_out_of_the_export_route(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    worker = factory.worker(org)
    project_id, batch_id = create_project(client, org, "image_annotation", IMAGE_PROJECT)
    [task_id] = import_tasks(client, org, project_id, batch_id, [IMAGE])
    lease = post_next(client, project_id, worker.key).json()
    answer = {"annotations": [_car(100), LIGHT]}
    submitted = {"annotations": [LIGHT, _car(100)]}
    assert submit_response(client, lease["assignment_id"], worker.key, submitted).status_code == 200
    [image] = read_coco([_export(client, org, project_id, "coco")])
    assert image.image_id == task_id
    # One answer settles the task: the settled objects in the project's object order.
    assert image.annotations == answer["annotations"]
    yolo = _export(client, org, project_id, "yolo")
    assert "data.yaml" in zipfile.ZipFile(io.BytesIO(yolo)).namelist()
    dataset = read_yolo([yolo])
    [box] = dataset.labels[task_id]
    assert dataset.names[box.class_id] == "car"
    assert box.pixels(640, 480) == pytest.approx((100, 100, 200, 100), abs=1e-3)


def test_a_yolo_export_of_a_task_without_its_size_is_a_422_naming_it(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    worker = factory.worker(org)
    project_id, batch_id = create_project(client, org, "image_annotation", IMAGE_PROJECT)
    [task_id] = import_tasks(
        client, org, project_id, batch_id, [{"image": "https://images.invalid/x.jpg"}]
    )
    lease = post_next(client, project_id, worker.key).json()
    nothing = {"annotations": []}
    assert submit_response(client, lease["assignment_id"], worker.key, nothing).status_code == 200
    refused = client.get(
        f"/api/projects/{project_id}/export", params={"format": "yolo"}, headers=auth(org.key)
    )
    assert refused.status_code == 422, refused.text
    assert f"task {task_id}: params.width/height" in json.dumps(refused.json())
    # COCO needs no size: the same project exports.
    [image] = read_coco([_export(client, org, project_id, "coco")])
    assert (image.image_id, image.width, image.annotations) == (task_id, None, [])
