"""COCO JSON of image annotations: ``images``, ``annotations``, ``categories`` (one document).

* ``categories``: every object of the project, ids from 1 in the project's order, with
  ``name`` (the label) and ``geometry``; a point object also has COCO's keypoint fields
  ``keypoints: [label]`` and ``skeleton: []``.
* ``images``: one per answered task, ``id`` = the task id, ``file_name`` and ``coco_url`` =
  the image URL, ``width``/``height`` when the task gives them. Tasks without an answer are
  left out (an image listed without annotations means "nothing here").
* ``annotations``: ids from 1, ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``,
  ``area``, ``iscrowd: 0``, ``attributes`` (the object's attributes, as CVAT writes them), and
  by geometry: a box has ``segmentation: []``; a polygon ``segmentation: [[x1, y1, x2, y2,
  ...]]`` with its area; a point is a one-keypoint annotation (``keypoints: [x, y, 2]``,
  ``num_keypoints: 1``, a zero-size bbox at the point); a line, which COCO has no shape for,
  has ``line: [x1, y1, x2, y2, ...]`` (ignored by COCO tools) with its bounding box.

Images stream out as they are read; annotations are held until the images are written (a
COCO file is one JSON object). ``read_coco`` reads a file back into labelmill annotations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError


def polygon_area(points: Sequence[tuple[float, float]]) -> float:
    """Area of a simple polygon by the shoelace formula."""
    total = 0.0
    for k, (x0, y0) in enumerate(points):
        x1, y1 = points[(k + 1) % len(points)]
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def categories(project_params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """COCO categories of a project's objects, ids from 1."""
    out: list[dict[str, Any]] = []
    for number, spec in enumerate(project_params.get("objects", []), start=1):
        category: dict[str, Any] = {
            "id": number,
            "name": spec["label"],
            "supercategory": "",
            "geometry": spec["geometry"],
        }
        if spec["geometry"] == "point":
            category.update(keypoints=[spec["label"]], skeleton=[])
        out.append(category)
    return out


def _flat(vertices: Sequence[Mapping[str, Any]]) -> list[float]:
    return [c for v in vertices for c in (v["x"], v["y"])]


def coco_annotation(shape: Mapping[str, Any], category_id: int) -> dict[str, Any]:
    """One labelmill annotation as COCO fields (without ``id`` and ``image_id``)."""
    base: dict[str, Any] = {"category_id": category_id, "iscrowd": 0}
    kind = shape["type"]
    if kind == "box":
        base.update(
            bbox=[shape["left"], shape["top"], shape["width"], shape["height"]],
            area=shape["width"] * shape["height"],
            segmentation=[],
        )
    elif kind == "point":
        base.update(
            bbox=[shape["x"], shape["y"], 0, 0],
            area=0,
            segmentation=[],
            keypoints=[shape["x"], shape["y"], 2],
            num_keypoints=1,
        )
    else:
        xs = [v["x"] for v in shape["vertices"]]
        ys = [v["y"] for v in shape["vertices"]]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        if kind == "polygon":
            area = polygon_area([(float(x), float(y)) for x, y in zip(xs, ys, strict=True)])
            base.update(bbox=bbox, area=area, segmentation=[_flat(shape["vertices"])])
        else:
            base.update(bbox=bbox, area=0, segmentation=[], line=_flat(shape["vertices"]))
    base["attributes"] = dict(shape.get("attributes") or {})
    return base


class CocoExporter:
    name: ClassVar[str] = "coco"
    media_type: ClassVar[str] = "application/json"
    file_extension: ClassVar[str] = "json"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"image_annotation"})

    def check_options(self, context: ExportContext) -> None:
        if context.options:
            raise FormatError(f"options: coco takes none; not {', '.join(sorted(context.options))}")

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        self.check_options(context)
        cats = categories(context.project_params)
        ids = {c["name"]: c["id"] for c in cats}
        head = {"info": {"description": "labelmill export"}, "licenses": [], "categories": cats}
        # The object's head without its closing brace, then the images as they stream.
        yield orjson.dumps(head)[:-1] + b',"images":['
        annotations: list[bytes] = []
        first = True
        for record in records:
            if record.response is None:
                continue
            image: dict[str, Any] = {
                "id": record.task_id,
                "file_name": record.params.get("image"),
                "coco_url": record.params.get("image"),
            }
            for side in ("width", "height"):
                if side in record.params:
                    image[side] = record.params[side]
            yield (b"" if first else b",") + orjson.dumps(image)
            first = False
            for shape in record.response.get("annotations", []):
                if shape["label"] not in ids:
                    raise FormatError(
                        f"task {record.task_id}: label {shape['label']!r} is not an object of "
                        "the project"
                    )
                row = {
                    "id": len(annotations) + 1,
                    "image_id": record.task_id,
                    **coco_annotation(shape, ids[shape["label"]]),
                }
                annotations.append(orjson.dumps(row))
        yield b'],"annotations":[' + b",".join(annotations) + b"]}"


@dataclass(frozen=True, slots=True)
class CocoImage:
    """One image of a COCO file with its annotations as labelmill shapes."""

    image_id: int
    file_name: str
    width: int | None
    height: int | None
    annotations: list[dict[str, Any]] = field(default_factory=list)


def _vertices(flat: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"x": flat[k], "y": flat[k + 1]} for k in range(0, len(flat) - 1, 2)]


def shape_of(row: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The labelmill shape of one COCO annotation (the inverse of ``coco_annotation``)."""
    attributes = dict(row.get("attributes") or {})
    if row.get("keypoints"):
        x, y = row["keypoints"][:2]
        return {"label": label, "type": "point", "x": x, "y": y, "attributes": attributes}
    if row.get("line"):
        return {
            "label": label,
            "type": "line",
            "vertices": _vertices(row["line"]),
            "attributes": attributes,
        }
    segmentation = row.get("segmentation")
    if isinstance(segmentation, list) and segmentation:
        return {
            "label": label,
            "type": "polygon",
            "vertices": _vertices(segmentation[0]),
            "attributes": attributes,
        }
    x, y, w, h = row["bbox"]
    return {
        "label": label,
        "type": "box",
        "left": x,
        "top": y,
        "width": w,
        "height": h,
        "attributes": attributes,
    }


def read_coco(chunks: Iterable[bytes]) -> list[CocoImage]:
    """The images of a COCO file, each with its annotations (in file order) as labelmill
    shapes, labels from the categories."""
    try:
        document = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or not {"images", "annotations", "categories"} <= set(
        document
    ):
        raise FormatError("a COCO file is an object with images, annotations and categories")
    # A file from elsewhere may miss any field or give it the wrong type: the reader's
    # callers (imports) expect a FormatError naming the part, never a KeyError.
    where = "categories"
    try:
        names = {c["id"]: c["name"] for c in document["categories"]}
        where = "images"
        images = {
            img["id"]: CocoImage(
                img["id"], img.get("file_name", ""), img.get("width"), img.get("height")
            )
            for img in document["images"]
        }
        for number, row in enumerate(document["annotations"]):
            where = f"annotations.{number}"
            image = images.get(row.get("image_id"))
            if image is None:
                raise FormatError(f"{where}: no image {row.get('image_id')!r}")
            label = names.get(row.get("category_id"))
            if label is None:
                raise FormatError(f"{where}: no category {row.get('category_id')!r}")
            image.annotations.append(shape_of(row, label))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise FormatError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None
    return list(images.values())
