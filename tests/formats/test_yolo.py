"""YOLO export of image annotations: normalised label files, data.yaml, a round trip back to
the same boxes, and the image size each task needs."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest

from labelmill.formats import ExportContext, ExportRecord, FormatError, exporter_for
from labelmill.formats.yolo import YoloBox, read_yolo

PROJECT: dict[str, Any] = {
    "objects": [
        {"label": "car", "geometry": "box", "attributes": []},
        {"label": "person", "geometry": "box", "attributes": []},
        {"label": "road", "geometry": "polygon", "attributes": []},
        {"label": "light", "geometry": "point", "attributes": []},
    ]
}
IMAGE = {"image": "https://x/street.jpg", "width": 640, "height": 480}


def _box(label: str, left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {
        "label": label,
        "type": "box",
        "left": left,
        "top": top,
        "width": width,
        "height": height,
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
    exporter = exporter_for("yolo", "image_annotation")
    exporter.check_options(context)
    return b"".join(exporter.render(iter(records), context))


ROAD = {
    "label": "road",
    "type": "polygon",
    "vertices": [{"x": 0, "y": 240}, {"x": 320, "y": 240}, {"x": 320, "y": 480}],
    "attributes": {},
}
LIGHT = {"label": "light", "type": "point", "x": 3, "y": 4, "attributes": {}}
BOXES = [_box("car", 64, 48, 128, 96), _box("person", 10.5, 20, 33.25, 100)]


def test_label_files_and_data_yaml() -> None:
    records = [
        _record(3, IMAGE, {"annotations": [*BOXES, ROAD, LIGHT]}),
        _record(4, {"image": "https://x/none.jpg"}, None),  # unanswered: no size needed
        _record(5, {**IMAGE, "image": "https://x/empty.jpg"}, {"annotations": []}),
    ]
    archive = zipfile.ZipFile(io.BytesIO(_export(records)))
    assert sorted(archive.namelist()) == ["data.yaml", "images.txt", "labels/3.txt", "labels/5.txt"]
    assert archive.read("labels/3.txt").decode().splitlines() == [
        "0 0.200000 0.200000 0.200000 0.200000",
        "1 0.042383 0.145833 0.051953 0.208333",
        "2 0.250000 0.750000 0.500000 0.500000",  # the polygon's bounding box; no point
    ]
    assert archive.read("labels/5.txt") == b""
    assert archive.read("data.yaml").decode() == (
        'nc: 4\nnames:\n  0: "car"\n  1: "person"\n  2: "road"\n  3: "light"\n'
    )


def test_round_trip_gives_the_same_boxes() -> None:
    dataset = read_yolo([_export([_record(3, IMAGE, {"annotations": BOXES})])])
    assert dataset.names == ["car", "person", "road", "light"]
    assert dataset.images == {3: "https://x/street.jpg"}
    back = [
        (dataset.names[b.class_id], *b.pixels(IMAGE["width"], IMAGE["height"]))
        for b in dataset.labels[3]
    ]
    expected = [(b["label"], b["left"], b["top"], b["width"], b["height"]) for b in BOXES]
    assert len(back) == len(expected)
    for got, want in zip(back, expected, strict=True):
        assert got[0] == want[0]
        assert got[1:] == pytest.approx(want[1:], abs=1e-3)


def test_a_task_without_its_size_is_named() -> None:
    records = [_record(11, {"image": "https://x/a.jpg"}, {"annotations": BOXES})]
    with pytest.raises(FormatError, match="task 11: params.width/height"):
        _export(records)
    with pytest.raises(FormatError, match="options"):
        _export([], normalise=False)


def test_reader_refuses_bad_lines() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.yaml", 'nc: 1\nnames:\n  0: "car"\n')
        archive.writestr("images.txt", "1 u\n")
        archive.writestr("labels/1.txt", "0 0.5 0.5\n")
    with pytest.raises(FormatError, match="labels/1.txt line 1"):
        read_yolo([buffer.getvalue()])
    assert YoloBox(0, 0.5, 0.5, 0.5, 0.5).pixels(100, 50) == (25.0, 12.5, 50.0, 25.0)


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_reader_names_what_is_missing_or_malformed() -> None:
    with pytest.raises(FormatError, match="data.yaml: missing"):
        read_yolo([_zip({"images.txt": ""})])
    with pytest.raises(FormatError, match="images.txt: missing"):
        read_yolo([_zip({"data.yaml": "nc: 0\nnames:\n"})])
    with pytest.raises(FormatError, match="images.txt line 2"):
        read_yolo([_zip({"data.yaml": "", "images.txt": "1 u\nx u\n"})])
    bad_number = {"data.yaml": "", "images.txt": "", "labels/1.txt": "0 0.5 0.5 wide 0.1\n"}
    with pytest.raises(FormatError, match="labels/1.txt line 1"):
        read_yolo([_zip(bad_number)])
    # Hand-written data.yaml files name classes without quotes.
    plain = read_yolo(
        [_zip({"data.yaml": 'nc: 2\nnames:\n  0: car\n  1: "bus"\n', "images.txt": ""})]
    )
    assert plain.names == ["car", "bus"]
