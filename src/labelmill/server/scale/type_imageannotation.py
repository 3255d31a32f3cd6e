"""Scale ``imageannotation`` ↔ labelmill ``image_annotation``.

Request keys (besides ``COMMON_KEYS``):

- ``attachment`` (required): the image URL (native ``image``).
- ``attachment_type``: ``image`` (the default and the only value).
- ``geometries``: ``{"box"|"polygon"|"line"|"point": {"objects_to_annotate": [...], ...}}``,
  an entry of ``objects_to_annotate`` a label or ``{"choice": label}``. labelmill's objects
  are project-level (a task cannot narrow them), so the geometries must name **exactly the
  project's objects**, each under the geometry the project declares for it; anything else is
  a 400 naming the label or the missing object. Scale's other geometries (``cuboid``,
  ``ellipse``, ...) are refused. Settings: ``box``: ``min_height``, ``min_width`` (default
  0), ``integer_pixels`` (default false), ``can_rotate`` (default false; ``true`` is refused:
  labelmill boxes are axis-aligned); ``polygon``/``line``: ``min_vertices`` (default 3 and 2,
  labelmill's own minimums), ``max_vertices`` (default null). These settings are echoed
  for the client's records but **not enforced** (labelmill checks only its own minimums).
  Absent: the project's objects as geometries with those defaults.
- ``annotation_attributes``: echoed as given; each name must be an attribute some project
  object declares. Absent: derived from the project's attributes (``scale_attributes``).
- ``width``, ``height``: the image's size in pixels (native task params, echoed when given);
  coordinates are then checked to lie inside the image.
- ``padding``, ``context_attachments``, ``hypothesis``, ``links`` are refused with a 400:
  labelmill has no padded canvas, no extra images and no pre-annotations, and accepting them
  silently would promise what the annotator never sees.

Response: ``{"annotations": [{"uuid", "type", "label", "attributes", ...}]}`` with ``left``,
``top``, ``width``, ``height`` for a box, ``vertices: [{"x", "y"}]`` for a polygon or line,
``x``, ``y`` for a point. ``uuid`` is deterministic (``annotation_id`` over the task's native
params, the position and the annotation), so every read of a task gives the same ids.
"""

from __future__ import annotations

from typing import Any

from labelmill.server.scale.task_types import (
    Translated,
    annotation_id,
    invalid,
    is_int,
    is_number,
    list_of,
    native_checked,
    register,
    reject_keys,
    reject_unknown,
    required_str,
)

GEOMETRIES = ("box", "polygon", "line", "point")

#: The settings each geometry takes, with the defaults echoed when not given.
GEOMETRY_DEFAULTS: dict[str, dict[str, Any]] = {
    "box": {"min_height": 0, "min_width": 0, "can_rotate": False, "integer_pixels": False},
    "polygon": {"min_vertices": 3, "max_vertices": None},
    "line": {"min_vertices": 2, "max_vertices": None},
    "point": {},
}

_REFUSED = {
    "padding": "not supported: labelmill draws on the image itself, without padding",
    "context_attachments": "not supported: a labelmill image task shows one image",
    "hypothesis": "not supported: labelmill tasks carry no pre-annotations",
    "links": "not supported: labelmill has no links between objects",
}
_KEYS = ("attachment", "attachment_type", "geometries", "annotation_attributes", "width", "height")

#: Scale's attribute type of each native attribute type.
_ATTRIBUTE_TYPE = {"choice": "category", "text": "text", "number": "number"}


def scale_geometries(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The project's objects as Scale geometries, every setting at its default."""
    out: dict[str, Any] = {}
    for geometry in GEOMETRIES:
        labels = [o["label"] for o in objects if o["geometry"] == geometry]
        if labels:
            out[geometry] = {"objects_to_annotate": labels, **GEOMETRY_DEFAULTS[geometry]}
    return out


def scale_attributes(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The objects' attributes as Scale ``annotation_attributes``: one entry per name, with a
    ``label_condition`` naming the objects that have it. Two objects declaring one name
    differently share the first declaration (Scale keys attributes by name only)."""
    out: dict[str, Any] = {}
    for spec in objects:
        for attribute in spec.get("attributes", []):
            entry = out.get(attribute["name"])
            if entry is None:
                entry = {
                    "type": _ATTRIBUTE_TYPE[attribute["type"]],
                    "description": attribute.get("description", ""),
                }
                if attribute["type"] == "choice":
                    entry["choices"] = list(attribute.get("choices") or [])
                entry["conditions"] = {"label_condition": {"label": []}}
                out[attribute["name"]] = entry
            entry["conditions"]["label_condition"]["label"].append(spec["label"])
    return out


class ImageAnnotationAdapter:
    scale_name = "imageannotation"
    native_name = "image_annotation"

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        for key, why in _REFUSED.items():
            if key in body:
                raise invalid(key, why)
        reject_unknown(body, _KEYS, self.scale_name)
        attachment = required_str(body, "attachment")
        attachment_type = body.get("attachment_type", "image")
        if attachment_type != "image":
            raise invalid("attachment_type", f"{attachment_type!r} is not supported; only image")
        objects = list(project_params["objects"])
        given = body.get("geometries")
        geometries = scale_geometries(objects) if given is None else _geometries(given, objects)
        attributes = body.get("annotation_attributes")
        if attributes is None:
            attributes = scale_attributes(objects)
        else:
            _check_attributes(attributes, objects)
        native: dict[str, Any] = {"image": attachment}
        scale: dict[str, Any] = {
            "attachment": attachment,
            "attachment_type": "image",
            "geometries": geometries,
            "annotation_attributes": attributes,
        }
        for key in ("width", "height"):
            if body.get(key) is not None:
                native[key] = body[key]
                scale[key] = body[key]
        native = native_checked(self.native_name, native, project_params, {"image": "attachment"})
        return Translated(native_params=native, scale_params=scale)

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        objects = list(project_params["objects"])
        params: dict[str, Any] = {
            "attachment": native_params["image"],
            "attachment_type": "image",
            "geometries": scale_geometries(objects),
            "annotation_attributes": scale_attributes(objects),
        }
        for key in ("width", "height"):
            if native_params.get(key) is not None:
                params[key] = native_params[key]
        return params

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        annotations: list[dict[str, Any]] = []
        for index, item in enumerate(native_response["annotations"]):
            kind = item["type"]
            out: dict[str, Any] = {
                "uuid": annotation_id(native_params, "annotation", index, item),
                "type": kind,
                "label": item["label"],
                "attributes": dict(item.get("attributes") or {}),
            }
            if kind == "box":
                out.update({k: item[k] for k in ("left", "top", "width", "height")})
            elif kind == "point":
                out.update({"x": item["x"], "y": item["y"]})
            else:
                out["vertices"] = [{"x": v["x"], "y": v["y"]} for v in item["vertices"]]
            annotations.append(out)
        return {"annotations": annotations}


def _geometries(given: object, objects: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise invalid("geometries", "must be an object {geometry: {objects_to_annotate, ...}}")
    declared = {o["label"]: o["geometry"] for o in objects}
    seen: set[str] = set()
    out: dict[str, Any] = {}
    for geometry, spec in given.items():
        where = f"geometries.{geometry}"
        if geometry not in GEOMETRIES:
            raise invalid(where, f"not supported; labelmill draws {', '.join(GEOMETRIES)}")
        if not isinstance(spec, dict):
            raise invalid(where, "must be an object {objects_to_annotate, ...}")
        defaults = GEOMETRY_DEFAULTS[geometry]
        reject_keys(
            spec,
            ("objects_to_annotate", *defaults),
            path=where,
            why=f"not a setting of {geometry} geometries",
        )
        labels = list_of(spec, "objects_to_annotate", path=f"{where}.objects_to_annotate")
        if labels is None:
            raise invalid(f"{where}.objects_to_annotate", "required")
        for index, entry in enumerate(labels):
            at = f"{where}.objects_to_annotate.{index}"
            label = _label_of(entry, at)
            if label not in declared:
                raise invalid(at, f"{label!r} is not an object of the project")
            if declared[label] != geometry:
                raise invalid(at, f"{label!r} is a {declared[label]} object in the project")
            if label in seen:
                raise invalid(at, f"{label!r} is given twice")
            seen.add(label)
        out[geometry] = {"objects_to_annotate": labels, **_settings(spec, defaults, where)}
    for spec in objects:
        if spec["label"] not in seen:
            raise invalid(
                "geometries",
                f"the project's object {spec['label']!r} ({spec['geometry']}) is missing "
                "(a task annotates every object of its project)",
            )
    return out


def _label_of(entry: object, at: str) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        reject_keys(
            entry, ("choice",), path=at, why="not supported (an object is a label or {choice})"
        )
        choice = entry.get("choice")
        if isinstance(choice, str):
            return choice
    raise invalid(at, "must be a label (a string) or {choice: label}")


def _settings(spec: dict[str, Any], defaults: dict[str, Any], where: str) -> dict[str, Any]:
    """The geometry's settings, defaults filled in, each checked for its type."""
    out = dict(defaults)
    for key in defaults:
        value = spec.get(key)
        if value is None:
            continue
        if key in ("min_height", "min_width"):
            if not is_number(value) or value < 0:
                raise invalid(f"{where}.{key}", "must be a number ≥ 0")
        elif key in ("min_vertices", "max_vertices"):
            if not is_int(value) or value < 1:
                raise invalid(f"{where}.{key}", "must be a positive integer")
        elif not isinstance(value, bool):
            raise invalid(f"{where}.{key}", "must be true or false")
        elif key == "can_rotate" and value:
            raise invalid(f"{where}.{key}", "not supported: labelmill boxes are axis-aligned")
        out[key] = value
    low, high = out.get("min_vertices"), out.get("max_vertices")
    if low is not None and high is not None and high < low:
        raise invalid(f"{where}.max_vertices", "is less than min_vertices")
    return out


def _check_attributes(given: object, objects: list[dict[str, Any]]) -> None:
    if not isinstance(given, dict):
        raise invalid("annotation_attributes", "must be an object {name: attribute}")
    declared = {a["name"] for o in objects for a in o.get("attributes", [])}
    for name, spec in given.items():
        if name not in declared:
            raise invalid(
                f"annotation_attributes.{name}",
                "not an attribute of any of the project's objects",
            )
        if not isinstance(spec, dict):
            raise invalid(f"annotation_attributes.{name}", "must be an object")


register(ImageAnnotationAdapter())
