"""Image annotation: boxes, polygons, points and lines with classes and per-object attributes
(the geometry set of Scale's ``imageannotation``).

The project declares its objects, each a label with one geometry and optional attributes
(choice, text or number). A task is an image URL with, optionally, its size in pixels; with a
size every coordinate must lie inside the image (without one, coordinates are only checked to
be non-negative). Coordinates are pixels from the top-left corner.

Widget contract: ``worker_view`` gives ``image``, ``width``, ``height`` and ``objects``; the
widget answers ``{"annotations": [...]}``, each ``{"label", "type": "box", "left", "top",
"width", "height", "attributes"}``, ``{"label", "type": "polygon"|"line", "vertices": [{"x",
"y"}, ...], "attributes"}`` or ``{"label", "type": "point", "x", "y", "attributes"}``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from labelmill.tasktypes.base import Answer, Loc, ParamsError, Settlement, TaskType, validate_model
from labelmill.tasktypes.geometry import MATCH_IOU, f1, iou, match_box, matched_pairs
from labelmill.tasktypes.votes import Decision, Number, is_number, tidy_number, vote, weights

#: F1 of matched objects from which a response agrees with a reference.
AGREEMENT_F1 = 0.8


class Attribute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: Literal["choice", "text", "number"]
    choices: list[str] | None = Field(default=None, max_length=1_000)
    required: bool = False
    description: str = Field(default="", max_length=10_000)


class ObjectSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    geometry: Literal["box", "polygon", "point", "line"]
    attributes: list[Attribute] = Field(default_factory=list, max_length=100)
    match_group: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description=(
            "Drawings are matched, and their label voted, only among objects of one geometry "
            "and one match group; objects without one share their geometry's group (a car "
            "called a truck is one object). Give objects that overlap by nature, such as a "
            "person on a bicycle, groups of their own."
        ),
    )


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    objects: list[ObjectSpec] = Field(min_length=1, max_length=500)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, max_length=10_000)
    width: StrictInt | None = Field(default=None, gt=0)
    height: StrictInt | None = Field(default=None, gt=0)


class Vertex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Number
    y: Number


Attributes = dict[str, Any]


class BoxShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    type: Literal["box"]
    left: Number
    top: Number
    width: Number = Field(gt=0)
    height: Number = Field(gt=0)
    attributes: Attributes = Field(default_factory=dict)


class PolygonShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    type: Literal["polygon"]
    vertices: list[Vertex] = Field(min_length=3, max_length=10_000)
    attributes: Attributes = Field(default_factory=dict)


class LineShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    type: Literal["line"]
    vertices: list[Vertex] = Field(min_length=2, max_length=10_000)
    attributes: Attributes = Field(default_factory=dict)


class PointShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    type: Literal["point"]
    x: Number
    y: Number
    attributes: Attributes = Field(default_factory=dict)


Shape = BoxShape | PolygonShape | LineShape | PointShape
_SHAPES: dict[str, type[BaseModel]] = {
    "box": BoxShape,
    "polygon": PolygonShape,
    "line": LineShape,
    "point": PointShape,
}


class Response(BaseModel):
    """The response's schema (validation goes shape by shape, for errors that name the field
    rather than pydantic's union member)."""

    model_config = ConfigDict(extra="forbid")

    annotations: list[Annotated[Shape, Field(discriminator="type")]] = Field(max_length=10_000)


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    annotations: list[Any] = Field(max_length=10_000)


def _check_objects(params: ProjectParams) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    labels: set[str] = set()
    for i, spec in enumerate(params.objects):
        if spec.label in labels:
            problems.append((("objects", i, "label"), f"duplicate label {spec.label!r}"))
        labels.add(spec.label)
        names: set[str] = set()
        for j, attribute in enumerate(spec.attributes):
            loc: Loc = ("objects", i, "attributes", j)
            if attribute.name in names:
                problems.append(((*loc, "name"), f"duplicate attribute {attribute.name!r}"))
            names.add(attribute.name)
            if attribute.type == "choice":
                if not attribute.choices:
                    problems.append(((*loc, "choices"), "a choice attribute needs choices"))
                elif len(set(attribute.choices)) != len(attribute.choices):
                    problems.append(((*loc, "choices"), "choices must be unique"))
            elif attribute.choices is not None:
                problems.append(((*loc, "choices"), "only a choice attribute has choices"))
    return problems


def _check_inside(
    loc: Loc, xs: list[tuple[Loc, float]], ys: list[tuple[Loc, float]], size: Mapping[str, Any]
) -> list[tuple[Loc, str]]:
    """Every coordinate ≥ 0 and, where the image's size is known, within it."""
    problems: list[tuple[Loc, str]] = []
    for values, limit_name in ((xs, "width"), (ys, "height")):
        limit = size.get(limit_name)
        for where, value in values:
            if value < 0:
                problems.append(((*loc, *where), "outside the image (negative)"))
            elif limit is not None and value > limit:
                problems.append(
                    ((*loc, *where), f"outside the image ({limit_name} {limit} pixels)")
                )
    return problems


def _coordinates(
    shape: BaseModel,
) -> tuple[list[tuple[Loc, float]], list[tuple[Loc, float]]]:
    """(x values, y values) of a shape, each with the field that names it in an error; a
    box's right and bottom edges are named by its width and height."""
    if isinstance(shape, BoxShape):
        return (
            [(("left",), shape.left), (("width",), shape.left + shape.width)],
            [(("top",), shape.top), (("height",), shape.top + shape.height)],
        )
    if isinstance(shape, PointShape):
        return [(("x",), shape.x)], [(("y",), shape.y)]
    assert isinstance(shape, PolygonShape | LineShape)
    return (
        [(("vertices", k, "x"), v.x) for k, v in enumerate(shape.vertices)],
        [(("vertices", k, "y"), v.y) for k, v in enumerate(shape.vertices)],
    )


def _check_attributes(
    loc: Loc, given: Mapping[str, Any], declared: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[tuple[Loc, str]]]:
    """The attributes in declared order (texts stripped, empty ones left out), or problems."""
    problems: list[tuple[Loc, str]] = []
    specs = {a["name"]: a for a in declared}
    problems += [
        ((*loc, "attributes", name), f"{name!r} is not an attribute of this object")
        for name in given
        if name not in specs
    ]
    clean: dict[str, Any] = {}
    for name, spec in specs.items():
        where: Loc = (*loc, "attributes", name)
        value = given.get(name)
        if isinstance(value, str) and spec["type"] == "text":
            value = value.strip() or None
        if value is None:
            if spec.get("required"):
                problems.append((where, "this attribute is required"))
            continue
        if spec["type"] == "choice" and value not in (spec.get("choices") or []):
            problems.append((where, f"{value!r} is not one of the attribute's choices"))
        elif spec["type"] == "text" and not isinstance(value, str):
            problems.append((where, "a text attribute is a string"))
        elif spec["type"] == "number" and not is_number(value):
            problems.append((where, "a number attribute is a finite number"))
        else:
            clean[name] = tidy_number(value) if spec["type"] == "number" else value
    return clean, problems


def _normalise(shape: BaseModel, attributes: dict[str, Any]) -> dict[str, Any]:
    out = shape.model_dump(exclude={"attributes"})
    for key in ("left", "top", "width", "height", "x", "y"):
        if key in out:
            out[key] = tidy_number(out[key])
    if "vertices" in out:
        out["vertices"] = [
            {"x": tidy_number(v["x"]), "y": tidy_number(v["y"])} for v in out["vertices"]
        ]
    out["attributes"] = attributes
    return out


def _rounded(value: float) -> int | float:
    return tidy_number(round(value, 3))


class ImageAnnotation(TaskType):
    name: ClassVar[str] = "image_annotation"
    description: ClassVar[str] = (
        "Draw boxes, polygons, points and lines with classes and per-object attributes on an image."
    )
    widget: ClassVar[str] = "image_annotation"
    aggregator: ClassVar[str] = (
        "labelmill.quality.aggregate_boxes (IoU matching across the labels of a geometry, "
        "skill-weighted averaging, weighted label vote; other geometries matched on their "
        "bounding boxes, the most supported kept); attributes by weighted vote"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems = _check_objects(params)
        if problems:
            raise ParamsError(problems)
        return params.model_dump(exclude_none=True)

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return validate_model(TaskParams, raw).model_dump(exclude_none=True)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        outer = validate_model(_Outer, raw)
        assert isinstance(outer, _Outer)
        objects = {o["label"]: o for o in project_params["objects"]}
        problems: list[tuple[Loc, str]] = []
        clean: list[dict[str, Any]] = []
        for index, item in enumerate(outer.annotations):
            loc: Loc = ("annotations", index)
            kind = item.get("type") if isinstance(item, dict) else None
            if not isinstance(kind, str) or kind not in _SHAPES:
                problems.append(((*loc, "type"), "one of box, polygon, point, line"))
                continue
            try:
                shape = validate_model(_SHAPES[kind], item)
            except ParamsError as exc:
                problems += [((*loc, *where), msg) for where, msg in exc.problems]
                continue
            label = str(item["label"])
            spec = objects.get(label)
            if spec is None:
                problems.append(((*loc, "label"), f"{label!r} is not an offered object"))
                continue
            if spec["geometry"] != kind:
                problems.append(
                    ((*loc, "type"), f"{label!r} objects are drawn as {spec['geometry']}s")
                )
                continue
            xs, ys = _coordinates(shape)
            problems += _check_inside(loc, xs, ys, task_params)
            attributes, bad = _check_attributes(
                loc, item.get("attributes") or {}, spec.get("attributes", [])
            )
            problems += bad
            clean.append(_normalise(shape, attributes))
        if problems:
            raise ParamsError(problems)
        return {"annotations": clean}

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        return tuple(sorted(json.dumps(a, sort_keys=True) for a in response["annotations"]))

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        """F1 of objects matched one-to-one (same label, IoU of their match boxes ≥ 0.5;
        ``geometry.matched_pairs``) of at least ``AGREEMENT_F1``; attributes not compared."""
        mine, theirs = response["annotations"], reference["annotations"]
        matched = len(matched_pairs(mine, theirs))
        return f1(matched, len(mine), len(theirs)) >= AGREEMENT_F1

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Objects by ``aggregate_boxes`` on every object's match box (``geometry``),
        matched across the labels of one geometry and match group (a box labelled ``car`` by
        one worker and ``truck`` by another is one object; a box and a point never are, nor
        objects the project put in different match groups): a cluster is kept
        when its drawers carry half the weight, whatever label they gave, and its label is
        their weighted vote. A kept box is the weighted mean box of all its drawers; a kept
        polygon, line or point is its most supported member of the winning label (the largest
        weighted IoU with the cluster's other such members, its own weight included), since
        averaging vertices of different counts has no meaning. Each kept object's attributes
        are a weighted vote among its members of the winning label (attributes belong to a
        label; a member without the attribute votes for its absence). Confidence: the least
        of ``aggregate_boxes``' confidence (which counts a split label vote) and the
        attribute votes' confidences."""
        if not answers:
            return Settlement(False, None, 0.0)
        import pandas as pd

        from labelmill.quality import aggregate_boxes

        w = weights(answers)
        shapes = [list(a.response["annotations"]) for a in answers]
        frame = pd.DataFrame(
            {
                "task": [0] * len(answers),
                "worker": list(range(len(answers))),
                "label": [[[*match_box(s), s["label"]] for s in mine] for mine in shapes],
            }
        )
        # A label's geometry is fixed by the project: a cluster must not mix geometries, or
        # its voted label could not be drawn from its members; within one, the project's
        # match groups say which labels may be one object.
        groups = {
            o["label"]: (o["geometry"], o.get("match_group")) for o in project_params["objects"]
        }
        result = aggregate_boxes(
            frame,
            iou_threshold=MATCH_IOU,
            skills=dict(enumerate(w)),
            match_across_labels=groups,
        )
        confidence = float(result.confidence.iloc[0])
        settled: list[dict[str, Any]] = []
        used: list[set[int]] = [set() for _ in answers]
        for *coords, label in result.boxes.iloc[0]:
            centre = (float(coords[0]), float(coords[1]), float(coords[2]), float(coords[3]))
            # The mean box can drift from its members as a cluster grows: fall back to any
            # overlap before giving a cluster up, never to an object of nobody.
            members = self._members(centre, str(label), shapes, used, MATCH_IOU)
            members = members or self._members(centre, str(label), shapes, used, 1e-9)
            if not members:
                continue
            settled_shape, decisions = self._combine(centre, members, shapes, w, task_params)
            settled.append(settled_shape)
            confidence = min([confidence, *(d.confidence for d in decisions)])
        # The project's object order, then top to bottom, left to right: an order that does
        # not depend on how the clusters happened to form.
        rank = {o["label"]: k for k, o in enumerate(project_params["objects"])}
        settled.sort(key=lambda s: (rank.get(s["label"], len(rank)), *match_box(s)[1::-1]))
        done = confidence >= confidence_target or at_max_labels
        return Settlement(done, {"annotations": settled} if done else None, confidence)

    @staticmethod
    def _members(
        centre: tuple[float, float, float, float],
        label: str,
        shapes: list[list[dict[str, Any]]],
        used: list[set[int]],
        threshold: float,
    ) -> list[tuple[int, int]]:
        """(answer, object) of each answer's best match for a consensus box: the same label,
        IoU ≥ ``threshold``, not already given to another consensus object."""
        members: list[tuple[int, int]] = []
        for a, mine in enumerate(shapes):
            best, best_iou = None, threshold
            for k, shape in enumerate(mine):
                if k in used[a] or shape["label"] != label:
                    continue
                overlap = iou(match_box(shape), centre)
                if overlap >= best_iou:
                    best, best_iou = k, overlap
            if best is not None:
                used[a].add(best)
                members.append((a, best))
        return members

    def _combine(
        self,
        centre: tuple[float, float, float, float],
        members: list[tuple[int, int]],
        shapes: list[list[dict[str, Any]]],
        w: list[float],
        task_params: Mapping[str, Any],
    ) -> tuple[dict[str, Any], list[Decision]]:
        """One consensus object from its members, and the attribute decisions."""
        objects = [shapes[a][k] for a, k in members]
        weights_ = [w[a] for a, _ in members]
        if objects[0]["type"] == "box":
            left, top, width, height = centre
            # Means of in-bounds boxes are in bounds; rounding must not push them out.
            right, bottom = left + width, top + height
            if "width" in task_params:
                right = min(right, float(task_params["width"]))
            if "height" in task_params:
                bottom = min(bottom, float(task_params["height"]))
            shape: dict[str, Any] = {
                "label": objects[0]["label"],
                "type": "box",
                "left": _rounded(left),
                "top": _rounded(top),
                "width": _rounded(right - left),
                "height": _rounded(bottom - top),
            }
        else:
            boxes = [match_box(o) for o in objects]
            support = [
                sum(wj * iou(boxes[i], boxes[j]) for j, wj in enumerate(weights_))
                for i in range(len(objects))
            ]
            best = max(range(len(objects)), key=lambda i: (support[i], weights_[i]))
            shape = {k: v for k, v in objects[best].items() if k != "attributes"}
        names = list(dict.fromkeys(n for o in objects for n in o.get("attributes", {})))
        attributes: dict[str, Any] = {}
        decisions: list[Decision] = []
        for name in names:
            values = [json.dumps(o.get("attributes", {}).get(name)) for o in objects]
            decided = vote(values, weights_)
            decisions.append(decided)
            value = json.loads(str(decided.value))
            if value is not None:
                attributes[name] = value
        shape["attributes"] = attributes
        return shape, decisions

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "image": task_params["image"],
            "width": task_params.get("width"),
            "height": task_params.get("height"),
            "objects": list(project_params["objects"]),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"annotations": []}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"annotations": ""}
        return {"annotations": json.dumps(list(response["annotations"]), ensure_ascii=False)}
