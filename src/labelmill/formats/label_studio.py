"""Reading Label Studio JSON exports into labelmill tasks, one task at a time.

What is read: the list that Label Studio's *Export → JSON* writes (and that its import
takes): ``[{"id", "data": {...}, "meta": {...}, "annotations": [{"result": [...],
"was_cancelled", "ground_truth", ...}], "predictions": [...]}, ...]``. Older exports'
``completions`` are read as ``annotations``. *JSON-MIN* and CSV exports are not read: they
flatten each result to a value whose meaning depends on the labeling config, which the
export does not carry.

Data → params, per task type (``--ls-map DATA_KEY=PARAM`` adds or overrides a mapping; a
data key named like one of the type's params passes through as it is):

================== ==========================================================================
categorization      ``text`` → ``attachment`` (``attachment_type: text``), ``image`` →
                    ``attachment`` (``image``), ``url`` → ``attachment`` (``website``)
text_spans          ``text``
image_annotation    ``image`` (``width``/``height`` taken from the results'
                    ``original_width``/``original_height`` when the data lacks them)
pairwise_comparison ``prompt``, ``text1`` → ``response_a``, ``text2`` → ``response_b``
rating              ``text``, ``prompt``, ``image`` → ``attachment``
text_collection     ``prompt``, ``text`` → ``attachment`` (``text``), ``image`` →
                    ``attachment`` (``image``)
================== ==========================================================================

Other data keys, the task's ``meta`` and its Label Studio ``id`` (as ``label_studio_id``) go
to the task's metadata.

Annotations: the task's answer is its first non-cancelled annotation with a result (one
marked ``ground_truth`` first). With ``annotations="gold"`` (the default) it becomes the
task's ``gold_answer``: answers a Label Studio team already made are known answers, and seed
labelmill's quality control (gold tasks, worker skill). With ``"skip"`` annotations are not
read at all. Predictions (model pre-labels) are never read: they are not known answers.

Result items → response (docs/task-types.md shapes):

* ``choices`` / ``taxonomy`` → categorization ``category`` (``categories`` when the project
  has ``multiple``; a taxonomy path gives its last node);
* ``labels`` (``start``/``end``/``labels``) → text_spans ``spans``, ``relation`` items
  (``from_id``/``to_id``/``labels``, ``direction: left`` reversed) → ``relations``;
* ``rectanglelabels`` / ``polygonlabels`` / ``keypointlabels`` → image_annotation boxes,
  polygons and points, percent coordinates × ``original_width``/``original_height`` →
  pixels (a rotated rectangle becomes its axis-aligned bounding box); a ``choices``,
  ``textarea`` or ``number`` item with a region's id → that object's attribute
  ``from_name``;
* ``rating`` (or ``number``) → rating ``ratings[from_name]`` (the only criterion when the
  project has one and ``from_name`` is not a criterion name);
* ``textarea`` / ``number`` / ``choices`` → text_collection ``fields[from_name]``;
* ``pairwise`` (``selected: left|right``) → pairwise_comparison ``choice`` ``a|b``; a
  ``choices`` item named after a criterion → ``criteria[name]``, another ``choices`` item
  (``a``/``b``/``tie``/``both_bad``, or ``left``/``right``) → ``choice``; ``textarea`` →
  ``rationale``.

A result item of another type, or one that cannot be converted, stops the import with an
error naming the task (1-based index in the list, and its Label Studio id) and the item.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelmill.formats.json_array import iter_json_array
from labelmill.formats.task_files import AnswerMode, Row, RowError

UNIT = "task"
LABEL_STUDIO_TYPES = frozenset(
    {
        "categorization",
        "text_spans",
        "image_annotation",
        "pairwise_comparison",
        "rating",
        "text_collection",
    }
)


@dataclass(frozen=True, slots=True)
class DataMap:
    """How one task type's params come from Label Studio ``data`` keys."""

    params: frozenset[str]
    """The type's task params: data keys of these names pass through unchanged."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """Default data key → param."""
    implies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Params a renamed data key implies (``image`` → ``attachment_type: image``)."""
    required: tuple[str, ...] = ()
    """Params a task cannot do without (named in the error when no data key gives them)."""


DATA_MAPS: dict[str, DataMap] = {
    "categorization": DataMap(
        params=frozenset({"attachment", "attachment_type", "categories"}),
        renames={"text": "attachment", "image": "attachment", "url": "attachment"},
        implies={
            "text": {"attachment_type": "text"},
            "image": {"attachment_type": "image"},
            "url": {"attachment_type": "website"},
        },
        required=("attachment",),
    ),
    "text_spans": DataMap(params=frozenset({"text"}), required=("text",)),
    "image_annotation": DataMap(
        params=frozenset({"image", "width", "height"}), required=("image",)
    ),
    "pairwise_comparison": DataMap(
        params=frozenset({"prompt", "messages", "response_a", "response_b", "model_a", "model_b"}),
        renames={"text1": "response_a", "text2": "response_b"},
        required=("response_a", "response_b"),
    ),
    "rating": DataMap(
        params=frozenset({"text", "prompt", "attachment"}),
        renames={"image": "attachment"},
        required=("text",),
    ),
    "text_collection": DataMap(
        params=frozenset({"prompt", "attachment", "attachment_type"}),
        renames={"text": "attachment", "image": "attachment"},
        implies={"text": {"attachment_type": "text"}, "image": {"attachment_type": "image"}},
    ),
}


class _Bad(ValueError):
    """A problem in one task; the reader adds which task."""


def read_label_studio(
    path: Path,
    task_type: str,
    project_params: Mapping[str, Any],
    *,
    data_map: Mapping[str, str] | None = None,
    annotations: AnswerMode = "gold",
) -> Iterator[Row]:
    """The tasks of a Label Studio JSON export as ``TaskCreate``-shaped dicts (not yet
    validated against the project: the caller's check does that, naming the same rows)."""
    if task_type not in DATA_MAPS:
        raise ValueError(
            f"Label Studio files can be imported into {', '.join(sorted(DATA_MAPS))} projects,"
            f" not {task_type!r}"
        )
    converter = LabelStudioTask(task_type, project_params, data_map or {}, annotations)
    with path.open("rb") as raw:
        for index, end_offset, item in iter_json_array(raw, unit=UNIT):
            ref = _ref(item)
            try:
                task = converter.task(item)
            except _Bad as exc:
                raise RowError(index, (f"({ref}) " if ref else "") + str(exc), unit=UNIT) from None
            yield Row(line=index, end_offset=end_offset, task=task, unit=UNIT, ref=ref)


def _ref(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("id"), int | str):
        return f"Label Studio id {item['id']}"
    return None


class LabelStudioTask:
    """Converts one Label Studio task (a parsed element of the export) to a labelmill task."""

    def __init__(
        self,
        task_type: str,
        project_params: Mapping[str, Any],
        data_map: Mapping[str, str],
        annotations: AnswerMode,
    ) -> None:
        self.task_type = task_type
        self.project_params = project_params
        self.map = DATA_MAPS[task_type]
        self.overrides = dict(data_map)
        self.annotations = annotations

    def task(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise _Bad("expected a task object with a 'data' object")
        data = item.get("data")
        if not isinstance(data, dict):
            raise _Bad("data: missing (a Label Studio task has a 'data' object)")
        params, metadata = self._params(data)
        meta = item.get("meta")
        if isinstance(meta, dict):
            metadata.update(meta)
        if "id" in item:
            metadata["label_studio_id"] = item["id"]
        task: dict[str, Any] = {"params": params}
        for name in self.map.required:
            if name not in params:
                sources = [k for k, v in self._renames().items() if v == name]
                hint = " or ".join(f"data.{k}" for k in sources) or f"data.{name}"
                raise _Bad(
                    f"data: no {hint} for params.{name} (a {self.task_type} task needs it; "
                    f"--ls-map KEY={name} names another data key)"
                )
        if metadata:
            task["metadata"] = metadata
        if self.annotations == "gold":
            results = _chosen_result(item)
            if results:
                answer = self._response(results, params)
                if answer:
                    task["gold_answer"] = answer
        return task

    def _renames(self) -> dict[str, str]:
        return {**self.map.renames, **self.overrides}

    def _params(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        renames = self._renames()
        params: dict[str, Any] = {}
        implied: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        source: dict[str, str] = {}
        for key, value in data.items():
            dest = renames.get(key, key if key in self.map.params else None)
            if dest is None:
                metadata[key] = value
                continue
            if dest.startswith("metadata."):
                metadata[dest.removeprefix("metadata.")] = value
                continue
            if dest in source:
                raise _Bad(
                    f"data.{source[dest]} and data.{key} both give params.{dest}; "
                    f"choose one with --ls-map"
                )
            source[dest] = key
            params[dest] = value
            if key not in self.overrides:
                implied.update(self.map.implies.get(key, {}))
        for name, value in implied.items():
            params.setdefault(name, value)
        return params, metadata

    def _response(self, results: list[Any], params: dict[str, Any]) -> dict[str, Any] | None:
        items: list[_Item] = []
        for number, result in enumerate(results):
            if not isinstance(result, dict):
                raise _Bad(f"result {number}: expected an object")
            value = result.get("value")
            kind = result.get("type")
            if kind != "relation" and not isinstance(value, dict):
                raise _Bad(f"result {number}: 'value' must be an object")
            items.append(_Item(number, result, value if isinstance(value, dict) else {}))
        converter = _CONVERTERS[self.task_type]
        return converter(items, self.project_params, params)


@dataclass(frozen=True, slots=True)
class _Item:
    number: int
    raw: dict[str, Any]
    value: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.raw.get("type"))

    @property
    def from_name(self) -> str:
        return str(self.raw.get("from_name", ""))

    @property
    def id(self) -> str | None:
        ident = self.raw.get("id")
        return str(ident) if ident is not None else None

    def bad(self, message: str) -> _Bad:
        ident = f" {self.id!r}" if self.id else ""
        return _Bad(f"annotation result {self.number} ({self.kind}{ident}): {message}")

    def strings(self, key: str) -> list[str]:
        values = self.value.get(key)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.bad(f"value.{key} must be a list of strings")
        return list(values)

    def number_of(self, key: str, source: Mapping[str, Any] | None = None) -> float:
        value = (self.value if source is None else source).get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.bad(f"{key} must be a number")
        return float(value)


def _chosen_result(item: Mapping[str, Any]) -> list[Any] | None:
    """The result of the annotation that stands for the task's answer: the first
    non-cancelled one with a result, preferring one marked ``ground_truth``."""
    annotations = item.get("annotations", item.get("completions"))
    if not isinstance(annotations, list):
        return None
    usable = [
        a
        for a in annotations
        if isinstance(a, dict)
        and not a.get("was_cancelled")
        and isinstance(a.get("result"), list)
        and a["result"]
    ]
    if not usable:
        return None
    chosen = next((a for a in usable if a.get("ground_truth")), usable[0])
    result: list[Any] = chosen["result"]
    return result


def _unsupported(item: _Item, task_type: str) -> _Bad:
    return item.bad(
        f"a {item.kind!r} result has no place in a {task_type} answer "
        f"(--ls-annotations skip imports the tasks without answers)"
    )


def _as_int(value: float) -> int | float:
    return int(value) if value.is_integer() else value


# -- per type ----------------------------------------------------------------------------------


def _categorization(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    chosen: list[str] = []
    for item in items:
        if item.kind == "choices":
            chosen.extend(item.strings("choices"))
        elif item.kind == "taxonomy":
            paths = item.value.get("taxonomy")
            if not isinstance(paths, list) or not all(
                isinstance(p, list) and p and all(isinstance(n, str) for n in p) for p in paths
            ):
                raise item.bad("value.taxonomy must be a list of paths (lists of names)")
            chosen.extend(path[-1] for path in paths)
        else:
            raise _unsupported(item, "categorization")
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        return None
    if project.get("multiple"):
        return {"categories": chosen}
    if len(chosen) > 1:
        raise _Bad(
            f"annotation chose {len(chosen)} categories ({', '.join(chosen)}) but the project "
            f"takes one (multiple: false)"
        )
    return {"category": chosen[0]}


def _text_spans(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    regions: list[tuple[int, int, str, str | None]] = []
    links: list[_Item] = []
    for item in items:
        if item.kind == "relation":
            links.append(item)
            continue
        if item.kind != "labels":
            raise _unsupported(item, "text_spans")
        start, end = item.value.get("start"), item.value.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            raise item.bad("value.start and value.end must be integers (character offsets)")
        for label in item.strings("labels"):
            regions.append((start, end, label, item.id))
    regions.sort(key=lambda r: (r[0], r[1]))
    spans = [{"start": s, "end": e, "label": label} for s, e, label, _ in regions]
    index_of: dict[str, int] = {}
    for position, (*_, region_id) in enumerate(regions):
        if region_id is not None:
            index_of.setdefault(region_id, position)
    relations: list[dict[str, Any]] = []
    for link in links:
        ends = [str(link.raw.get("from_id")), str(link.raw.get("to_id"))]
        missing = [e for e in ends if e not in index_of]
        if missing:
            raise link.bad(f"refers to region {missing[0]!r}, which is not a labeled span")
        if link.raw.get("direction") == "left":
            ends.reverse()
        labels = link.raw.get("labels")
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            raise link.bad("a relation needs one or more labels (labelmill relations are typed)")
        relations.extend(
            {"from": index_of[ends[0]], "to": index_of[ends[1]], "label": label} for label in labels
        )
    if not spans:
        return None
    answer: dict[str, Any] = {"spans": spans}
    if relations:
        answer["relations"] = relations
    return answer


_SHAPES = {"rectanglelabels": "box", "polygonlabels": "polygon", "keypointlabels": "point"}


def _image_annotation(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    objects: list[dict[str, Any]] = []
    by_region: dict[str, dict[str, Any]] = {}
    attributes: list[_Item] = []
    for item in items:
        if item.kind in {"choices", "textarea", "number"}:
            attributes.append(item)
            continue
        if item.kind not in _SHAPES:
            raise _unsupported(item, "image_annotation")
        width = item.number_of("original_width", item.raw)
        height = item.number_of("original_height", item.raw)
        params.setdefault("width", _as_int(width))
        params.setdefault("height", _as_int(height))
        geometry = _geometry(item, width, height)
        for label in item.strings(item.kind):
            shape = {"label": label, **geometry, "attributes": {}}
            objects.append(shape)
            if item.id is not None:
                by_region.setdefault(item.id, shape)
    for item in attributes:
        owner = by_region.get(item.id or "")
        if owner is None:
            raise item.bad(
                "an image answer takes choices/text/numbers only as an object's "
                "attribute (per-region, with the region's id)"
            )
        if item.kind == "choices":
            choices = item.strings("choices")
            owner["attributes"][item.from_name] = choices[0] if len(choices) == 1 else choices
        elif item.kind == "textarea":
            owner["attributes"][item.from_name] = "\n".join(item.strings("text"))
        else:
            owner["attributes"][item.from_name] = _as_int(item.number_of("number"))
    return {"annotations": objects} if objects else None


def _geometry(item: _Item, width: float, height: float) -> dict[str, Any]:
    def px(value: float, size: float) -> float:
        return round(value * size / 100.0, 3)

    if item.kind == "rectanglelabels":
        x, y = item.number_of("x"), item.number_of("y")
        w, h = item.number_of("width"), item.number_of("height")
        rotation = item.value.get("rotation") or 0
        if not isinstance(rotation, int | float) or isinstance(rotation, bool):
            raise item.bad("rotation must be a number")
        if rotation:
            # Label Studio rotates a rectangle about its top-left corner, clockwise, in pixels:
            # keep the axis-aligned box around the rotated corners.
            theta = math.radians(rotation)
            cos, sin = math.cos(theta), math.sin(theta)
            x0, y0, wp, hp = px(x, width), px(y, height), px(w, width), px(h, height)
            corners = [(0.0, 0.0), (wp, 0.0), (wp, hp), (0.0, hp)]
            xs = [x0 + cx * cos - cy * sin for cx, cy in corners]
            ys = [y0 + cx * sin + cy * cos for cx, cy in corners]
            left, top = max(min(xs), 0.0), max(min(ys), 0.0)
            right, bottom = min(max(xs), width), min(max(ys), height)
            return {
                "type": "box",
                "left": round(left, 3),
                "top": round(top, 3),
                "width": round(right - left, 3),
                "height": round(bottom - top, 3),
            }
        return {
            "type": "box",
            "left": px(x, width),
            "top": px(y, height),
            "width": px(w, width),
            "height": px(h, height),
        }
    if item.kind == "polygonlabels":
        points = item.value.get("points")
        if not isinstance(points, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in points
        ):
            raise item.bad("value.points must be a list of [x, y] pairs")
        vertices = []
        for point in points:
            if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point):
                raise item.bad("value.points must hold numbers")
            vertices.append({"x": px(float(point[0]), width), "y": px(float(point[1]), height)})
        return {"type": "polygon", "vertices": vertices}
    return {
        "type": "point",
        "x": px(item.number_of("x"), width),
        "y": px(item.number_of("y"), height),
    }


def _rating(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    criteria = [c.get("name") for c in project.get("criteria", []) if isinstance(c, dict)]
    ratings: dict[str, Any] = {}
    for item in items:
        if item.kind not in {"rating", "number"}:
            raise _unsupported(item, "rating")
        name = item.from_name
        if name not in criteria:
            if len(criteria) != 1:
                raise item.bad(
                    f"from_name {name!r} is not one of the project's criteria "
                    f"({', '.join(map(str, criteria))})"
                )
            name = str(criteria[0])
        ratings[name] = _as_int(item.number_of(item.kind))
    return {"ratings": ratings} if ratings else None


def _text_collection(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    kinds = {
        f.get("name"): f.get("type", "text")
        for f in project.get("fields", [])
        if isinstance(f, dict)
    }
    fields: dict[str, Any] = {}
    for item in items:
        name = item.from_name
        if item.kind == "textarea":
            fields[name] = "\n".join(item.strings("text"))
        elif item.kind == "number":
            fields[name] = _as_int(item.number_of("number"))
        elif item.kind == "choices":
            choices = item.strings("choices")
            fields[name] = choices if kinds.get(name) == "multi_choice" else choices[0]
            if kinds.get(name) != "multi_choice" and len(choices) != 1:
                raise item.bad(f"field {name!r} takes one choice, got {len(choices)}")
        else:
            raise _unsupported(item, "text_collection")
    return {"fields": fields} if fields else None


_SIDES = {"left": "a", "right": "b", "a": "a", "b": "b", "tie": "tie", "both_bad": "both_bad"}


def _pairwise(
    items: list[_Item], project: Mapping[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    criteria = {c.get("name") for c in project.get("criteria", []) or [] if isinstance(c, dict)}
    answer: dict[str, Any] = {}
    for item in items:
        if item.kind == "pairwise":
            side = _SIDES.get(str(item.value.get("selected")))
            if side not in {"a", "b"}:
                raise item.bad("value.selected must be 'left' or 'right'")
            answer["choice"] = side
        elif item.kind == "choices":
            choices = item.strings("choices")
            side = _SIDES.get(choices[0]) if len(choices) == 1 else None
            if side is None:
                raise item.bad("expected one choice of a, b, tie, both_bad (or left, right)")
            if item.from_name in criteria:
                answer.setdefault("criteria", {})[item.from_name] = side
            else:
                answer["choice"] = side
        elif item.kind == "textarea":
            answer["rationale"] = "\n".join(item.strings("text"))
        else:
            raise _unsupported(item, "pairwise_comparison")
    if answer and "choice" not in answer:
        raise _Bad("the annotation has no overall choice (a pairwise result or a choices result)")
    return answer or None


_CONVERTERS = {
    "categorization": _categorization,
    "text_spans": _text_spans,
    "image_annotation": _image_annotation,
    "pairwise_comparison": _pairwise,
    "rating": _rating,
    "text_collection": _text_collection,
}
