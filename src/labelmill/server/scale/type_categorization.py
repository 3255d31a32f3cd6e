"""Scale ``categorization`` ↔ labelmill ``categorization``.

Request keys (besides ``COMMON_KEYS``):

- ``attachment`` (required): text, an image URL or a web page URL; for labelmill's own
  ``chat`` type a list of ``{"role", "content"}`` messages.
- ``attachment_type``: ``text`` (default), ``image``, ``website``, or labelmill's ``chat``.
- ``categories``: optional names, each one the project offers (a leaf of its taxonomy, or
  any node with ``allow_internal``). They narrow the task's choice, in the given order, as
  labelmill's task param ``categories`` does. Absent: the project's choices (echoed flat).
- ``allow_multiple``: defaults to the project's ``multiple``. It is a project setting in
  labelmill (aggregation and quality differ for sets), so a task that contradicts it is a
  400 rather than a task answered the other way.
- ``category_ids``: optional ``{category: id}`` (ids strings or integers), keys among the
  task's categories; echoed, and used for ``category_id`` in the response.
- ``taxonomies`` (Scale's newer multi-taxonomy form) is refused: a labelmill project has
  one taxonomy, given at project creation.

Response: one choice ``{"category": "dog"}`` (Scale's shape). With ``allow_multiple``:
``{"category": ["dog", "outdoor"]}``, a list under Scale's key (in the task's category
order), not labelmill's ``categories``: a Scale client reads one key whatever the project.
When the task has ``category_ids``, ``category_id`` comes alongside (the id, or the list of
ids, ``null`` for a category without one).
"""

from __future__ import annotations

from typing import Any

from labelmill.server.scale.task_types import (
    Translated,
    invalid,
    is_int,
    list_of,
    native_checked,
    optional_bool,
    register,
    reject_unknown,
)
from labelmill.tasktypes.categorization import selectable

ATTACHMENT_TYPES = ("text", "image", "website", "chat")
_KEYS = ("attachment", "attachment_type", "categories", "allow_multiple", "category_ids")


def _offered(categories: list[Any], project_params: dict[str, Any]) -> list[str]:
    return selectable(categories, allow_internal=bool(project_params.get("allow_internal")))


class CategorizationAdapter:
    scale_name = "categorization"
    native_name = "categorization"

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        if "taxonomies" in body:
            raise invalid(
                "taxonomies",
                "not supported: a labelmill project holds one taxonomy (its categories); "
                "give categories, a list of the project's category names, to narrow it",
            )
        reject_unknown(body, _KEYS, self.scale_name)
        attachment = body.get("attachment")
        if attachment is None:
            raise invalid("attachment", "required")
        if attachment == "":
            raise invalid("attachment", "must not be empty")
        attachment_type = body.get("attachment_type", "text")
        if attachment_type not in ATTACHMENT_TYPES:
            raise invalid(
                "attachment_type",
                f"{attachment_type!r} is not supported; one of {', '.join(ATTACHMENT_TYPES)}",
            )
        multiple = bool(project_params.get("multiple"))
        if optional_bool(body, "allow_multiple", multiple) != multiple:
            kind = "multiple-choice" if multiple else "single-choice"
            raise invalid(
                "allow_multiple",
                f"the project is {kind} (multiple: {str(multiple).lower()}); "
                "a task cannot change that",
            )
        offered = _offered(project_params["categories"], project_params)
        given = list_of(body, "categories")
        native: dict[str, Any] = {"attachment": attachment, "attachment_type": attachment_type}
        if given is not None:
            self._check_subset(given, offered)
            native["categories"] = list(given)
        native = native_checked(self.native_name, native, project_params, {})
        categories = list(given) if given is not None else offered
        scale: dict[str, Any] = {
            "attachment": native["attachment"],
            "attachment_type": attachment_type,
            "categories": categories,
            "allow_multiple": multiple,
        }
        ids = body.get("category_ids")
        if ids is not None:
            scale["category_ids"] = self._check_ids(ids, categories)
        return Translated(native_params=native, scale_params=scale)

    @staticmethod
    def _check_subset(given: list[Any], offered: list[str]) -> None:
        seen: set[str] = set()
        for index, name in enumerate(given):
            if not isinstance(name, str):
                raise invalid(f"categories.{index}", "must be a category name (a string)")
            if name not in offered:
                raise invalid(f"categories.{index}", f"{name!r} is not a category of the project")
            if name in seen:
                raise invalid(f"categories.{index}", f"{name!r} is given twice")
            seen.add(name)

    @staticmethod
    def _check_ids(ids: object, categories: list[str]) -> dict[str, Any]:
        if not isinstance(ids, dict):
            raise invalid("category_ids", "must be an object of category: id")
        for name, ident in ids.items():
            if name not in categories:
                raise invalid(f"category_ids.{name}", f"{name!r} is not a category of the task")
            if not (isinstance(ident, str) or is_int(ident)):
                raise invalid(f"category_ids.{name}", "an id is a string or an integer")
        return dict(ids)

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        categories = native_params.get("categories") or project_params["categories"]
        params: dict[str, Any] = {}
        if native_params.get("attachment") is not None:
            params["attachment"] = native_params["attachment"]
        params["attachment_type"] = native_params.get("attachment_type", "text")
        params["categories"] = _offered(categories, project_params)
        params["allow_multiple"] = bool(project_params.get("multiple"))
        return params

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        # By the answer's own shape, not the project's current ``multiple``: an answer is
        # read as it was given.
        value: str | list[str]
        if "categories" in native_response:
            value = [str(c) for c in native_response["categories"]]
        else:
            value = str(native_response["category"])
        out: dict[str, Any] = {"category": value}
        ids = scale_params.get("category_ids")
        if isinstance(ids, dict):
            out["category_id"] = (
                [ids.get(c) for c in value] if isinstance(value, list) else ids.get(value)
            )
        return out


register(CategorizationAdapter())
