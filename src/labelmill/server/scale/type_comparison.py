"""Scale ``comparison`` ↔ labelmill ``pairwise_comparison``.

Request keys (besides ``COMMON_KEYS``):

- ``attachments`` (required): exactly two, the native ``response_a`` and ``response_b``; an
  item is a string or ``{"type": "text", "content": ...}``. Echoed as given.
- ``attachment_type``: ``text`` (the default and the only value: labelmill compares texts).
- ``prompt`` or ``context`` (not both): the native ``prompt``, what both texts answer.
  Neither: an empty prompt (two texts judged on their own); echoed only when given.
- ``choices``: labels mapped **by position** onto the native choices the project allows, in
  the order ``a``, ``b``, ``tie``, ``both_bad`` (``tie`` and ``both_bad`` only where the
  project's ``allow_tie``/``allow_both_bad`` are on). There must be exactly as many labels as
  allowed choices, so every answer has a label. Absent: the allowed native names
  (``["a", "b", "tie", "both_bad"]`` with both allowed).
- ``fields`` is refused: a labelmill comparison asks the project's ``criteria`` instead.

Response: ``{"choice": <the label at the native choice's position>}``, plus ``criteria``
(``{name: "a"|"b"|"tie"}``, native values: a criterion always allows a tie, so it has no
position in ``choices``) when the project has criteria, and ``rationale`` when one was given.
"""

from __future__ import annotations

from typing import Any

from labelmill.server.scale.task_types import (
    Translated,
    invalid,
    list_of,
    native_checked,
    optional_str,
    register,
    reject_keys,
    reject_unknown,
)
from labelmill.tasktypes.pairwise_comparison import allowed_choices

_KEYS = ("attachments", "attachment_type", "prompt", "context", "choices")


def _content(item: object, at: str) -> str:
    """The text of one attachment: a string, or ``{"type": "text", "content"}``."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        raise invalid(at, 'must be a text or {"type": "text", "content": ...}')
    reject_keys(
        item, ("type", "content"), path=at, why="not supported (an attachment is type, content)"
    )
    if item.get("type", "text") != "text":
        raise invalid(f"{at}.type", f"{item.get('type')!r} is not supported; only text")
    content = item.get("content")
    if not isinstance(content, str):
        raise invalid(f"{at}.content", "required (a string)")
    return content


class ComparisonAdapter:
    scale_name = "comparison"
    native_name = "pairwise_comparison"

    def create(self, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
        if "fields" in body:
            raise invalid(
                "fields",
                "not supported: a labelmill comparison asks the project's criteria; "
                "define them on the project",
            )
        reject_unknown(body, _KEYS, self.scale_name)
        attachments = list_of(body, "attachments")
        if attachments is None:
            raise invalid("attachments", "required")
        if len(attachments) != 2:
            raise invalid("attachments", f"a comparison takes exactly two (got {len(attachments)})")
        first, second = (_content(item, f"attachments.{i}") for i, item in enumerate(attachments))
        attachment_type = body.get("attachment_type", "text")
        if attachment_type != "text":
            raise invalid("attachment_type", f"{attachment_type!r} is not supported; only text")
        prompt = optional_str(body, "prompt")
        context = optional_str(body, "context")
        if prompt is not None and context is not None:
            raise invalid("context", "give prompt or context, not both")
        native = native_checked(
            self.native_name,
            {
                "prompt": prompt if prompt is not None else (context or ""),
                "response_a": first,
                "response_b": second,
            },
            project_params,
            {"response_a": "attachments.0", "response_b": "attachments.1"},
        )
        allowed = allowed_choices(project_params)
        given = list_of(body, "choices")
        scale: dict[str, Any] = {
            "attachments": list(attachments),
            "attachment_type": "text",
            "choices": list(allowed) if given is None else _labels(given, allowed),
        }
        if prompt is not None:
            scale["prompt"] = prompt
        if context is not None:
            scale["context"] = context
        return Translated(native_params=native, scale_params=scale)

    def params_of_native(
        self, native_params: dict[str, Any], project_params: dict[str, Any]
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "attachments": [native_params["response_a"], native_params["response_b"]],
            "attachment_type": "text",
            "choices": allowed_choices(project_params),
        }
        if native_params.get("prompt") is not None:
            params["prompt"] = native_params["prompt"]
        if native_params.get("messages") is not None:
            # A conversation (native only): shown as it is, Scale has no key for it.
            params["messages"] = native_params["messages"]
        return params

    def response(
        self,
        native_response: dict[str, Any],
        *,
        scale_params: dict[str, Any],
        native_params: dict[str, Any],
        project_params: dict[str, Any],
    ) -> dict[str, Any]:
        positions = allowed_choices(project_params)
        labels = scale_params.get("choices") or positions
        choice = str(native_response["choice"])
        at = positions.index(choice) if choice in positions else len(labels)
        out: dict[str, Any] = {"choice": labels[at] if at < len(labels) else choice}
        if native_response.get("criteria"):
            out["criteria"] = dict(native_response["criteria"])
        if native_response.get("rationale"):
            out["rationale"] = native_response["rationale"]
        return out


def _labels(given: list[Any], allowed: list[str]) -> list[str]:
    if len(given) != len(allowed):
        raise invalid(
            "choices",
            f"the project allows {len(allowed)} answers ({', '.join(allowed)}): give "
            f"{len(allowed)} labels, in that order (got {len(given)})",
        )
    seen: set[str] = set()
    for index, label in enumerate(given):
        if not isinstance(label, str) or not label:
            raise invalid(f"choices.{index}", "must be a non-empty string")
        if label in seen:
            raise invalid(f"choices.{index}", f"{label!r} is given twice")
        seen.add(label)
    return list(given)


register(ComparisonAdapter())
