"""COCO export of image annotations: the documented fields, and a round trip back to the
same objects for every geometry."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.coco import read_coco

PROJECT: dict[str, Any] = {
    "objects": [
        {"label": "car", "geometry": "box", "attributes": []},
        {"label": "road", "geometry": "polygon", "attributes": []},
        {"label": "light", "geometry": "point", "attributes": []},
        {"label": "lane", "geometry": "line", "attributes": []},
    ]
}
CAR = {
    "label": "car",
    "type": "box",
    "left": 10,
    "top": 20.5,
    "width": 100,
    "height": 50,
    "attributes": {"color": "red"},
}
ROAD = {
    "label": "road",
    "type": "polygon",
    "vertices": [{"x": 0, "y": 300}, {"x": 640, "y": 300}, {"x": 640, "y": 480}],
    "attributes": {},
}
LIGHT = {"label": "light", "type": "point", "x": 300, "y": 40, "attributes": {}}
LANE = {
    "label": "lane",
    "type": "line",
    "vertices": [{"x": 100, "y": 400}, {"x": 500, "y": 420}],
    "attributes": {},
}


def _record(task_id: int, params: dict[str, Any], response: dict[str, Any] | None) -> ExportRecord:
    return ExportRecord(
        task_id=task_id,
        unique_id=None,
        batch_id=1,
        status="completed" if response is not None else "pending",
        project_version=1,
        params=params,
        metadata={},
        tags=[],
        response=response,
        confidence=None,
        n_labels=2,
        completed_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )


def _export(records: list[ExportRecord], **options: Any) -> bytes:
    context = ExportContext("image_annotation", PROJECT, options)
    exporter = exporter_for("coco", "image_annotation")
    exporter.check_options(context)
    return b"".join(exporter.render(iter(records), context))


IMAGE = {"image": "https://x/street.jpg", "width": 640, "height": 480}
RECORDS = [
    _record(7, IMAGE, {"annotations": [CAR, ROAD, LIGHT, LANE]}),
    _record(8, {"image": "https://x/empty.jpg"}, {"annotations": []}),
    _record(9, IMAGE, None),
]


def test_document_has_images_annotations_and_categories() -> None:
    document = json.loads(_export(RECORDS))
    assert [c["name"] for c in document["categories"]] == ["car", "road", "light", "lane"]
    assert [c["id"] for c in document["categories"]] == [1, 2, 3, 4]
    assert document["categories"][2]["keypoints"] == ["light"]
    assert document["images"] == [
        {
            "id": 7,
            "file_name": "https://x/street.jpg",
            "coco_url": "https://x/street.jpg",
            "width": 640,
            "height": 480,
        },
        {"id": 8, "file_name": "https://x/empty.jpg", "coco_url": "https://x/empty.jpg"},
    ]
    car, road, light, lane = document["annotations"]
    assert [a["id"] for a in document["annotations"]] == [1, 2, 3, 4]
    assert car["bbox"] == [10, 20.5, 100, 50] and car["area"] == 5000
    assert car["category_id"] == 1 and car["image_id"] == 7 and car["iscrowd"] == 0
    assert car["attributes"] == {"color": "red"}
    assert road["segmentation"] == [[0, 300, 640, 300, 640, 480]]
    assert road["bbox"] == [0, 300, 640, 180] and road["area"] == pytest.approx(640 * 180 / 2)
    assert light["keypoints"] == [300, 40, 2] and light["num_keypoints"] == 1
    assert lane["line"] == [100, 400, 500, 420] and lane["bbox"] == [100, 400, 400, 20]


def test_round_trip_gives_the_same_objects() -> None:
    images = read_coco([_export(RECORDS)])
    assert [(i.image_id, i.width, i.height) for i in images] == [(7, 640, 480), (8, None, None)]
    assert images[0].annotations == [CAR, ROAD, LIGHT, LANE]
    assert images[1].annotations == []


def test_errors_are_named() -> None:
    with pytest.raises(FormatError, match="options"):
        _export([], iscrowd=1)
    stranger = _record(3, IMAGE, {"annotations": [{**CAR, "label": "bus"}]})
    with pytest.raises(FormatError, match="task 3: label 'bus'"):
        _export([stranger])
    with pytest.raises(FormatError, match="images, annotations and categories"):
        read_coco([b'{"images": []}'])


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"images": [], "annotations": [], "categories": [{"name": "car"}]}, "categories"),
        ({"images": [{"file_name": "a"}], "annotations": [], "categories": []}, "images"),
        (
            {
                "images": [{"id": 1}],
                "annotations": [{"image_id": 1, "category_id": 1}],
                "categories": [{"id": 1, "name": "car"}],
            },
            "annotations.0",
        ),
        (
            {"images": [{"id": 1}], "annotations": [{"image_id": 2}], "categories": []},
            "annotations.0: no image 2",
        ),
    ],
)
def test_reader_names_the_malformed_part(document: dict[str, Any], where: str) -> None:
    with pytest.raises(FormatError, match=where):
        read_coco([json.dumps(document).encode()])
