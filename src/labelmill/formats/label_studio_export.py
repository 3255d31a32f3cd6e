"""The ``label-studio`` export: a Label Studio JSON export of a project's tasks.

One JSON list, streamed element by element: each task is ``{"id": task_id, "data": {...},
"meta": metadata, "annotations": [...], "predictions": []}``; a task with an answer carries
one annotation whose ``result`` items hold the aggregated response (a task without one has
no annotation). ``data`` uses the keys ``labelmill.formats.label_studio`` reads back
(``text``/``image``/``url`` for a categorization attachment, ``text1``/``text2`` for the two
responses of a pairwise comparison, the param names elsewhere), so the file round-trips
through ``labelmill import --format label-studio``. Control names (``from_name``) are
``choice``, ``label``, ``pairwise``, ``rationale``, a criterion's or field's or attribute's
own name; a Label Studio labeling config using those names shows the results.

Image coordinates become percents of the task's ``width``/``height`` params, which an
image task exported here must therefore have; lines have no Label Studio equivalent. Either
problem stops the export naming the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError
from labelmill.formats.label_studio import LABEL_STUDIO_TYPES


class LabelStudioExporter:
    name: ClassVar[str] = "label-studio"
    media_type: ClassVar[str] = "application/json"
    file_extension: ClassVar[str] = "json"
    task_types: ClassVar[frozenset[str] | None] = LABEL_STUDIO_TYPES

    def check_options(self, context: ExportContext) -> None:
        if context.options:
            raise FormatError(
                f"options: the label-studio format takes none (got {', '.join(context.options)})"
            )

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        yield b"["
        first = True
        for record in records:
            try:
                task = ls_task(record, context)
            except FormatError as exc:
                raise FormatError(f"task {record.task_id}: {exc}") from None
            yield (b"" if first else b",\n") + orjson.dumps(task)
            first = False
        yield b"]\n"


def ls_task(record: ExportRecord, context: ExportContext) -> dict[str, Any]:
    """One Label Studio task for ``record``."""
    data, to_name = _data(context.task_type, record.params)
    annotations: list[dict[str, Any]] = []
    if record.response is not None:
        results = _results(context, record.params, record.response, to_name)
        annotation: dict[str, Any] = {
            "id": record.task_id,
            "result": results,
            "was_cancelled": False,
            "ground_truth": False,
            "result_count": len(results),
            "task": record.task_id,
        }
        if record.completed_at is not None:
            stamp = record.completed_at.isoformat()
            annotation["created_at"] = annotation["updated_at"] = stamp
        annotations.append(annotation)
    task: dict[str, Any] = {"id": record.task_id, "data": data}
    if record.metadata:
        task["meta"] = dict(record.metadata)
    task["annotations"] = annotations
    task["predictions"] = []
    return task


_ATTACHMENT_KEYS = {"text": "text", "image": "image", "website": "url"}


def _data(task_type: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Label Studio ``data`` for ``params``, and the name of the object results point at."""
    data = dict(params)
    if task_type in {"categorization", "text_collection"} and "attachment" in data:
        kind = data.get("attachment_type", "text")
        key = _ATTACHMENT_KEYS.get(str(kind)) if task_type == "categorization" else None
        if task_type == "text_collection" and kind in {"text", "image"}:
            key = str(kind)
        if key is not None and isinstance(data["attachment"], str):
            data[key] = data.pop("attachment")
            data.pop("attachment_type", None)
            return data, key
        return data, "attachment"
    if task_type == "pairwise_comparison":
        for param, key in (("response_a", "text1"), ("response_b", "text2")):
            if param in data:
                data[key] = data.pop(param)
        return data, "text1,text2"
    if task_type == "rating":
        if "attachment" in data:
            data["image"] = data.pop("attachment")
        return data, "text"
    if task_type == "image_annotation":
        return data, "image"
    return data, "text"


def _results(
    context: ExportContext,
    params: Mapping[str, Any],
    response: Mapping[str, Any],
    to_name: str,
) -> list[dict[str, Any]]:
    def item(kind: str, from_name: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": extra.pop("id", f"r{len(results)}"),
            "from_name": from_name,
            "to_name": to_name,
            "type": kind,
            "value": value,
            "origin": "manual",
            **extra,
        }

    results: list[dict[str, Any]] = []
    task_type = context.task_type
    if task_type == "categorization":
        chosen = response.get("categories", [response.get("category")])
        results.append(item("choices", "choice", {"choices": list(chosen)}))
    elif task_type == "text_spans":
        text = str(params.get("text", ""))
        for n, span in enumerate(response.get("spans", [])):
            start, end = span["start"], span["end"]
            value = {"start": start, "end": end, "text": text[start:end], "labels": [span["label"]]}
            results.append(item("labels", "label", value, id=f"s{n}"))
        for relation in response.get("relations", []):
            results.append(
                {
                    "from_id": f"s{relation['from']}",
                    "to_id": f"s{relation['to']}",
                    "type": "relation",
                    "direction": "right",
                    "labels": [relation["label"]],
                }
            )
    elif task_type == "image_annotation":
        results.extend(_image_results(params, response, item))
    elif task_type == "rating":
        for name, rating in response.get("ratings", {}).items():
            results.append(item("rating", name, {"rating": rating}))
    elif task_type == "text_collection":
        kinds = {
            f.get("name"): f.get("type", "text")
            for f in context.project_params.get("fields", [])
            if isinstance(f, dict)
        }
        for name, value in response.get("fields", {}).items():
            kind = kinds.get(name)
            if kind in {"choice", "multi_choice"} or isinstance(value, list):
                choices = value if isinstance(value, list) else [value]
                results.append(item("choices", name, {"choices": list(choices)}))
            elif kind == "number" or (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                results.append(item("number", name, {"number": value}))
            else:
                results.append(item("textarea", name, {"text": [str(value)]}))
    elif task_type == "pairwise_comparison":
        choice = response.get("choice")
        if choice in {"a", "b"}:
            selected = "left" if choice == "a" else "right"
            results.append(item("pairwise", "pairwise", {"selected": selected}))
        else:  # Label Studio's Pairwise control has no tie: a Choices control carries it
            results.append(item("choices", "choice", {"choices": [choice]}))
        for name, side in (response.get("criteria") or {}).items():
            results.append(item("choices", name, {"choices": [side]}))
        if response.get("rationale"):
            results.append(item("textarea", "rationale", {"text": [response["rationale"]]}))
    else:
        raise FormatError(f"{task_type} tasks have no Label Studio form")
    return results


def _image_results(
    params: Mapping[str, Any], response: Mapping[str, Any], item: Any
) -> Iterator[dict[str, Any]]:
    width, height = params.get("width"), params.get("height")
    if (
        not isinstance(width, int | float)
        or not isinstance(height, int | float)
        or not (width > 0 and height > 0)
    ):
        raise FormatError(
            "params.width/height: Label Studio coordinates are percents of the image size, "
            "which this task does not give"
        )
    size = {"original_width": width, "original_height": height, "image_rotation": 0}

    def pct(value: float, whole: float) -> float:
        return value * 100.0 / whole

    for n, shape in enumerate(response.get("annotations", [])):
        region = f"o{n}"
        kind = shape.get("type")
        label = shape.get("label")
        if kind == "box":
            value = {
                "x": pct(shape["left"], width),
                "y": pct(shape["top"], height),
                "width": pct(shape["width"], width),
                "height": pct(shape["height"], height),
                "rotation": 0,
                "rectanglelabels": [label],
            }
            yield item("rectanglelabels", "label", value, id=region, **size)
        elif kind == "polygon":
            points = [[pct(v["x"], width), pct(v["y"], height)] for v in shape["vertices"]]
            value = {"points": points, "closed": True, "polygonlabels": [label]}
            yield item("polygonlabels", "label", value, id=region, **size)
        elif kind == "point":
            value = {
                "x": pct(shape["x"], width),
                "y": pct(shape["y"], height),
                "width": 1.0,
                "keypointlabels": [label],
            }
            yield item("keypointlabels", "label", value, id=region, **size)
        else:
            raise FormatError(f"response.annotations.{n}: a {kind} has no Label Studio form")
        for name, attribute in (shape.get("attributes") or {}).items():
            if isinstance(attribute, str):
                yield item("choices", name, {"choices": [attribute]}, id=region, **size)
            elif isinstance(attribute, list):
                yield item("choices", name, {"choices": attribute}, id=region, **size)
            else:
                yield item("number", name, {"number": attribute}, id=region, **size)
