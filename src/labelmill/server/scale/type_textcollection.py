"""Scale ``textcollection`` ↔ labelmill ``text_collection``.

Request keys (besides ``COMMON_KEYS``):

- ``attachments``: a list of ``{"type", "content"}``, type one of ``text``, ``image``,
  ``video``, ``website``, ``audio`` (Scale's ``pdf`` is refused: labelmill's widget does
  not render PDFs). A labelmill task holds one attachment, so **at most one** is accepted;
  more is a 400 naming ``attachments`` (dropping the rest would hide material the client
  meant the annotator to see). Its ``forms`` (conditional display) is refused.
- ``fields``: Scale field objects. Fields are project-level in labelmill, so when given they
  must be **exactly the project's fields** (by ``field_id`` = the field's name, in any
  order) with the same type and constraints; presentation keys (``title``,
  ``description``, ``hint``, a choice's ``label``) are free and echoed. Absent: the
  project's fields in Scale's shape (see ``scale_field``).
- ``title``, ``description``: echoed when given (no default).
- ``responses_required``: a positive integer, default 1; echoed. labelmill settles one
  answer per task whatever the number (its overlap is the project's labeling policy), so
  the response is always the one-answer shape.
- ``prompt`` (labelmill extension): the native task's prompt, shown above the form.

Field types: ``text`` ↔ ``text`` (``min_length``/``max_length`` ↔
``min_characters``/``max_characters``), ``number`` ↔ ``number`` (``min``, ``max``),
``choice`` ↔ ``category`` with ``max_choices: 1``, ``multi_choice`` ↔ ``category`` with
``max_choices`` = the number of choices; ``min_choices`` is 1 for a required field, else 0.
A choice is ``{"label": c, "value": c}``.

Response: ``{"annotations": {field_id: value}}`` (Scale's documented callback format, not the
Rapid one), from the native ``{"fields": {...}}``; a ``category`` field's value is the list
of the chosen values, as Scale's ``CategoryField`` answers, for one choice too. Optional
fields left empty are left out, as natively.
"""

from __future__ import annotations

import json
from typing import Any

from labelmill.server.scale.task_types import (
    Translated,
    invalid,
    is_int,
    list_of,
    native_checked,
    optional_str,
    register,
    reject_keys,
    reject_unknown,
)

ATTACHMENT_TYPES = ("text", "image", "video", "website", "audio")
_KEYS = ("attachments", "fields", "title", "description", "responses_required", "prompt")

#: Scale's name of each native field type.
SCALE_FIELD_TYPE = {
    "text": "text",
    "number": "number",
    "choice": "category",
    "multi_choice": "category",
}

# Keys of a Scale field the annotator reads but that constrain nothing: echoed as given.
_PRESENTATION = ("title", "description", "hint")
# Keys that constrain the answer: when given, they must equal the project's.
_CONSTRAINTS = {
    "text": ("required", "min_characters", "max_characters"),
    "number": ("required", "min", "max"),
    "category": ("required", "min_choices", "max_choices"),
}


def scale_field(field: dict[str, Any]) -> dict[str, Any]:
    """A native form field in Scale's shape; settings the native field leaves unset are
    left out (Scale reads an absent ``max_characters`` as no limit)."""
    kind = field["type"]
    required = bool(field.get("required", True))
    out: dict[str, Any] = {
        "type": SCALE_FIELD_TYPE[kind],
        "field_id": field["name"],
        "title": field["name"],
        "description": field.get("description", ""),
        "required": required,
    }
    if kind == "text":
        for native, scale in (("min_length", "min_characters"), ("max_length", "max_characters")):
            if field.get(native) is not None:
                out[scale] = field[native]
    elif kind == "number":
        for key in ("min", "max"):
            if field.get(key) is not None:
                out[key] = field[key]
    else:
        choices = list(field.get("choices") or [])
        out["choices"] = [{"label": c, "value": c} for c in choices]
        out["min_choices"] = 1 if required else 0
        out["max_choices"] = 1 if kind == "choice" else len(choices)
    return out


class TextCollectionAdapter:
    scale_name = "textcollection"
    native_name = "text_collection"

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        reject_unknown(body, _KEYS, self.scale_name)
        native: dict[str, Any] = {}
        scale: dict[str, Any] = {}
        attachments = self._attachments(list_of(body, "attachments") or [])
        if attachments:
            native["attachment"] = attachments[0]["content"]
            native["attachment_type"] = attachments[0]["type"]
        scale["attachments"] = attachments
        prompt = optional_str(body, "prompt")
        if prompt is not None:
            native["prompt"] = prompt
        given = list_of(body, "fields")
        project_fields = list(project_params["fields"])
        scale["fields"] = (
            [scale_field(f) for f in project_fields]
            if given is None
            else self._fields(given, project_fields)
        )
        for key in ("title", "description"):
            text = optional_str(body, key)
            if text is not None:
                scale[key] = text
        required = body.get("responses_required", 1)
        if not is_int(required) or required < 1:
            raise invalid("responses_required", "must be a positive integer")
        scale["responses_required"] = required
        if prompt is not None:
            scale["prompt"] = prompt
        native = native_checked(
            self.native_name,
            native,
            project_params,
            {"attachment": "attachments.0.content", "attachment_type": "attachments.0.type"},
        )
        return Translated(native_params=native, scale_params=scale)

    @staticmethod
    def _attachments(given: list[Any]) -> list[dict[str, Any]]:
        if len(given) > 1:
            raise invalid(
                "attachments",
                f"a labelmill text collection task holds one attachment (got {len(given)}); "
                "give one, or put the others' text in the prompt",
            )
        out: list[dict[str, Any]] = []
        for index, item in enumerate(given):
            where = f"attachments.{index}"
            if not isinstance(item, dict):
                raise invalid(where, "must be an object {type, content}")
            reject_keys(
                item, ("type", "content"), path=where, why="not supported (give type, content)"
            )
            kind = item.get("type")
            if kind is None:
                raise invalid(f"{where}.type", "required")
            if kind not in ATTACHMENT_TYPES:
                raise invalid(
                    f"{where}.type",
                    f"{kind!r} is not supported; one of {', '.join(ATTACHMENT_TYPES)}",
                )
            content = item.get("content")
            if content is None:
                raise invalid(f"{where}.content", "required")
            if not isinstance(content, str) or not content:
                raise invalid(f"{where}.content", "must be a non-empty string")
            out.append({"type": kind, "content": content})
        return out

    @staticmethod
    def _fields(given: list[Any], project_fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_name = {f["name"]: f for f in project_fields}
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for index, item in enumerate(given):
            where = f"fields.{index}"
            if not isinstance(item, dict):
                raise invalid(where, "must be a field object {type, field_id, title, ...}")
            name = item.get("field_id")
            if not isinstance(name, str):
                raise invalid(f"{where}.field_id", "required (a string)")
            field = by_name.get(name)
            if field is None:
                raise invalid(f"{where}.field_id", f"{name!r} is not a field of the project")
            if name in seen:
                raise invalid(f"{where}.field_id", f"{name!r} is given twice")
            seen.add(name)
            expected = scale_field(field)
            out.append(_merge(item, expected, where))
        for field in project_fields:
            if field["name"] not in seen:
                raise invalid(
                    "fields",
                    f"the project's field {field['name']!r} is missing (a task's form is its "
                    "project's: give every field, or leave fields out)",
                )
        return out

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        attachments = []
        if native_params.get("attachment") is not None:
            attachments.append(
                {
                    "type": native_params.get("attachment_type") or "text",
                    "content": native_params["attachment"],
                }
            )
        params: dict[str, Any] = {
            "attachments": attachments,
            "fields": [scale_field(f) for f in project_params["fields"]],
            "responses_required": 1,
        }
        if native_params.get("prompt") is not None:
            params["prompt"] = native_params["prompt"]
        return params

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        kinds = {f["name"]: f["type"] for f in project_params.get("fields", [])}
        annotations: dict[str, Any] = {}
        for name, value in native_response["fields"].items():
            annotations[name] = [value] if kinds.get(name) == "choice" else value
        return {"annotations": annotations}


def _merge(item: dict[str, Any], expected: dict[str, Any], where: str) -> dict[str, Any]:
    """The echoed field: ``expected`` (the project's field in Scale's shape) with the
    client's presentation keys; a constraint the client gave must equal the project's."""
    name = expected["field_id"]
    kind = expected["type"]
    given_type = item.get("type")
    if given_type is None:
        raise invalid(f"{where}.type", "required")
    if given_type != kind:
        raise invalid(
            f"{where}.type",
            f"the project's field {name!r} is a {kind} field, not {given_type!r}",
        )
    constraints = _CONSTRAINTS[kind]
    allowed = {"type", "field_id", "choices", *_PRESENTATION, *constraints}
    reject_keys(item, allowed, path=where, why=f"not supported on a {kind} field")
    out = dict(expected)
    for key in _PRESENTATION:
        if key in item:
            if not isinstance(item[key], str):
                raise invalid(f"{where}.{key}", "must be a string")
            out[key] = item[key]
    for key in constraints:
        if key not in item:
            continue
        want = expected.get(key)
        if not _same(item[key], want):
            shown = "none" if want is None else json.dumps(want)
            raise invalid(f"{where}.{key}", f"the project's field {name!r} has {key} {shown}")
    if kind == "category":
        out["choices"] = _choices(item.get("choices"), expected["choices"], name, where)
    elif "choices" in item:
        raise invalid(f"{where}.choices", f"a {kind} field has no choices")
    return out


def _same(given: object, want: object) -> bool:
    """Equal settings, a boolean never equal to a number (``1`` is not ``true``); numbers
    by value (a project's ``min`` may be stored as ``0.0`` and given as ``0``)."""
    if isinstance(given, bool) or isinstance(want, bool):
        return isinstance(given, bool) and isinstance(want, bool) and given == want
    return given == want


def _choices(given: object, expected: list[dict[str, Any]], name: str, where: str) -> Any:
    """The project's choices, relabelled as the client gave them; the values must be the
    project's, every one (a task cannot narrow a project's field)."""
    if given is None:
        return expected
    if not isinstance(given, list):
        raise invalid(f"{where}.choices", "must be a list of {label, value}")
    values = [c["value"] for c in expected]
    seen: set[object] = set()
    out: list[dict[str, Any]] = []
    for index, choice in enumerate(given):
        at = f"{where}.choices.{index}"
        if not isinstance(choice, dict):
            raise invalid(at, "must be an object {label, value}")
        reject_keys(
            choice,
            ("label", "value", "hint"),
            path=at,
            why="not supported (a choice is label, value, hint)",
        )
        value = choice.get("value")
        if value not in values:
            raise invalid(f"{at}.value", f"{value!r} is not a choice of the field {name!r}")
        if value in seen:
            raise invalid(f"{at}.value", f"{value!r} is given twice")
        seen.add(value)
        label = choice.get("label", value)
        if not isinstance(label, str):
            raise invalid(f"{at}.label", "must be a string")
        out.append({**choice, "label": label, "value": value})
    missing = [v for v in values if v not in seen]
    if missing:
        raise invalid(f"{where}.choices", f"the field {name!r} also offers {missing!r}")
    return out


register(TextCollectionAdapter())
