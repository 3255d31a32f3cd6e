"""Scale ``namedentityrecognition`` ↔ labelmill ``text_spans``.

Request keys (besides ``COMMON_KEYS``):

- ``text`` (required, non-empty).
- ``labels``: entity types, each a name or ``{"name", "description"}``. labelmill's labels
  are project-level and a task cannot narrow them (the annotator is offered every project
  label), so the labels must be **exactly the project's** (any order): a subset would echo
  a promise the task does not keep. Echoed as ``{"name", "description"?}`` objects;
  descriptions are echoed only (labelmill labels have none: put them in the instruction).
  Absent: the project's labels.
- ``relationships``: relation types, in the same form and under the same rule against the
  project's ``relations``. Absent: the project's relations (maybe none).

Response: ``{"annotations": [{"id", "start", "end", "text", "label"}], "relationships":
[{"id", "source_ref", "target_ref", "name"}]}`` from the native ``spans`` and ``relations``
(``from``/``to`` index spans; ``source_ref``/``target_ref`` are those spans' ids). Offsets are
Python string indices, end exclusive; ``text`` is the slice of the task's text. Ids are
deterministic (``annotation_id``), so re-reading a task gives the same ids.
"""

from __future__ import annotations

from typing import Any

from labelmill.server.scale.task_types import (
    Translated,
    annotation_id,
    invalid,
    list_of,
    native_checked,
    register,
    reject_unknown,
    required_str,
)

_KEYS = ("text", "labels", "relationships")


def _named(given: list[Any], declared: list[str], key: str, what: str) -> list[dict[str, Any]]:
    """``given`` names (strings or ``{"name", "description"}``) checked to be exactly
    ``declared``, as ``{"name", "description"?}`` objects in the given order."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(given):
        at = f"{key}.{index}"
        if isinstance(entry, str):
            item: dict[str, Any] = {"name": entry}
        elif isinstance(entry, dict):
            for extra in sorted(entry):
                if extra not in ("name", "description"):
                    raise invalid(f"{at}.{extra}", "not supported (give name, description)")
            if not isinstance(entry.get("name"), str):
                raise invalid(f"{at}.name", "required (a string)")
            if not isinstance(entry.get("description", ""), str):
                raise invalid(f"{at}.description", "must be a string")
            item = dict(entry)
        else:
            raise invalid(at, "must be a name or {name, description}")
        name = item["name"]
        if name not in declared:
            raise invalid(at, f"{name!r} is not a {what} of the project")
        if name in seen:
            raise invalid(at, f"{name!r} is given twice")
        seen.add(name)
        out.append(item)
    missing = [name for name in declared if name not in seen]
    if missing:
        raise invalid(
            key,
            f"the project's {what}s {missing!r} are missing (a task offers every {what} of its "
            f"project: give them all, or leave {key} out)",
        )
    return out


class NamedEntityRecognitionAdapter:
    scale_name = "namedentityrecognition"
    native_name = "text_spans"

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        reject_unknown(body, _KEYS, self.scale_name)
        text = required_str(body, "text")
        native = native_checked(self.native_name, {"text": text}, project_params, {})
        labels = list(project_params["labels"])
        relations = list(project_params.get("relations") or [])
        given_labels = list_of(body, "labels")
        given_relations = list_of(body, "relationships")
        scale: dict[str, Any] = {
            "text": text,
            "labels": (
                [{"name": name} for name in labels]
                if given_labels is None
                else _named(given_labels, labels, "labels", "label")
            ),
            "relationships": (
                [{"name": name} for name in relations]
                if given_relations is None
                else _named(given_relations, relations, "relationships", "relation")
            ),
        }
        return Translated(native_params=native, scale_params=scale)

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "text": native_params["text"],
            "labels": [{"name": name} for name in project_params["labels"]],
            "relationships": [{"name": name} for name in project_params.get("relations") or []],
        }

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        text = str(native_params.get("text", scale_params.get("text", "")))
        annotations: list[dict[str, Any]] = []
        for index, span in enumerate(native_response["spans"]):
            start, end = int(span["start"]), int(span["end"])
            annotations.append(
                {
                    "id": annotation_id(native_params, "span", index, span),
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "label": span["label"],
                }
            )
        relationships: list[dict[str, Any]] = []
        for index, relation in enumerate(native_response.get("relations") or []):
            relationships.append(
                {
                    "id": annotation_id(native_params, "relation", index, relation),
                    "source_ref": annotations[int(relation["from"])]["id"],
                    "target_ref": annotations[int(relation["to"])]["id"],
                    "name": relation["label"],
                }
            )
        return {"annotations": annotations, "relationships": relationships}


register(NamedEntityRecognitionAdapter())
