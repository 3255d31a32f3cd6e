"""Scale ↔ labelmill type adapters (``labelmill.server.scale.task_types``), without a server:
the native params and the echoed Scale params of a create request, every refusal with the
field it names, Scale params of natively created tasks, and the Scale shape of answers
(placeholders included)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from labelmill.server.errors import InvalidInput
from labelmill.server.scale.task_types import (
    ADAPTERS,
    COMMON_KEYS,
    ScaleTypeAdapter,
    Translated,
    adapter_for_native,
)
from labelmill.tasktypes import Answer, get_task_type


def native_type(name: str) -> Any:
    task_type = get_task_type(name)
    assert task_type is not None
    return task_type


def project(native_name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Project params as the server stores them: validated by the native type."""
    params: dict[str, Any] = native_type(native_name).validate_project_params(raw)
    return params


def create(scale_name: str, body: dict[str, Any], project_params: dict[str, Any]) -> Translated:
    adapter = ADAPTERS[scale_name]
    translated = adapter.create(body, project_params)
    # The caller validates the native params again: they must pass, unchanged.
    again = native_type(adapter.native_name).validate_task_params(
        translated.native_params, project_params
    )
    assert again == translated.native_params
    json.dumps(translated.scale_params)  # stored as JSON
    return translated


def refused(
    scale_name: str, body: dict[str, Any], project_params: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        ADAPTERS[scale_name].create(body, project_params)
    assert str(caught.value).startswith(message), str(caught.value)


def scale_response(
    adapter: ScaleTypeAdapter,
    native_response: dict[str, Any],
    translated: Translated,
    project_params: dict[str, Any],
) -> dict[str, Any]:
    return adapter.response(
        native_response,
        scale_params=translated.scale_params,
        native_params=translated.native_params,
        project_params=project_params,
    )


def placeholder_via_scale(
    scale_name: str, body: dict[str, Any], project_params: dict[str, Any]
) -> dict[str, Any]:
    adapter = ADAPTERS[scale_name]
    translated = create(scale_name, body, project_params)
    native = native_type(adapter.native_name)
    placeholder = native.placeholder_response(project_params, translated.native_params)
    # The placeholder is a valid native answer, so the translation is of a real answer.
    clean = native.validate_response(placeholder, project_params, translated.native_params)
    return scale_response(adapter, clean, translated, project_params)


# --- the registry -------------------------------------------------------------------------


def test_the_registry_maps_the_five_scale_types() -> None:
    assert {name: a.native_name for name, a in ADAPTERS.items()} == {
        "categorization": "categorization",
        "textcollection": "text_collection",
        "imageannotation": "image_annotation",
        "namedentityrecognition": "text_spans",
        "comparison": "pairwise_comparison",
    }
    assert all(a.scale_name == name for name, a in ADAPTERS.items())
    spans = adapter_for_native("text_spans")
    assert spans is not None and spans.scale_name == "namedentityrecognition"
    assert adapter_for_native("ranking") is None


CATS = project("categorization", {"categories": ["cat", "dog", "bird"]})
MULTI = project("categorization", {"categories": ["dog", "outdoor", "indoor"], "multiple": True})
TREE = project(
    "categorization",
    {"categories": [{"name": "animal", "children": ["cat", "dog"]}, "plant"]},
)
FORM = project(
    "text_collection",
    {
        "fields": [
            {"name": "response", "type": "text", "min_length": 10, "description": "Answer"},
            {"name": "score", "type": "number", "min": 1, "max": 5, "required": False},
            {"name": "language", "type": "choice", "choices": ["en", "fr"]},
            {"name": "tags", "type": "multi_choice", "choices": ["a", "b", "c"]},
        ]
    },
)
OBJECTS = project(
    "image_annotation",
    {
        "objects": [
            {
                "label": "car",
                "geometry": "box",
                "attributes": [
                    {"name": "color", "type": "choice", "choices": ["red", "blue"]},
                    {"name": "note", "type": "text", "description": "anything odd"},
                ],
            },
            {"label": "road", "geometry": "polygon"},
            {
                "label": "light",
                "geometry": "point",
                "attributes": [{"name": "color", "type": "choice", "choices": ["red", "green"]}],
            },
            {"label": "lane", "geometry": "line"},
        ]
    },
)
NER = project("text_spans", {"labels": ["PER", "ORG"], "relations": ["works_for"]})
PAIR = project("pairwise_comparison", {})

MINIMAL: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "categorization": ({"attachment": "a cat"}, CATS),
    "textcollection": ({}, FORM),
    "imageannotation": ({"attachment": "https://x/img.png"}, OBJECTS),
    "namedentityrecognition": ({"text": "Ada works at IBM."}, NER),
    "comparison": ({"attachments": ["one", "two"], "prompt": "Which?"}, PAIR),
}


@pytest.mark.parametrize("scale_name", sorted(MINIMAL))
def test_an_unknown_key_is_refused_by_name(scale_name: str) -> None:
    body, params = MINIMAL[scale_name]
    refused(
        scale_name,
        {**body, "colour_of_sky": "blue"},
        params,
        f"params.colour_of_sky: not a parameter of {scale_name} tasks",
    )


@pytest.mark.parametrize("scale_name", sorted(MINIMAL))
def test_no_adapter_documents_a_common_key(scale_name: str) -> None:
    # The route strips the common keys; an adapter that also took one would shadow it.
    body, params = MINIMAL[scale_name]
    with pytest.raises(InvalidInput, match=r"^params\.metadata: not a parameter"):
        ADAPTERS[scale_name].create({**body, "metadata": {}}, params)
    assert "metadata" in COMMON_KEYS


@pytest.mark.parametrize("scale_name", sorted(MINIMAL))
def test_params_of_a_native_task_are_the_echo_of_its_defaults(scale_name: str) -> None:
    # A task made through /v1 with only the required keys and the same task made natively
    # show the same Scale params, except keys only the request can have given.
    body, params = MINIMAL[scale_name]
    adapter = ADAPTERS[scale_name]
    translated = create(scale_name, body, params)
    from_native = adapter.params_of_native(translated.native_params, params)
    assert from_native == translated.scale_params


# --- categorization ---------------------------------------------------------------------


def test_categorization_fills_the_defaults_from_the_project() -> None:
    t = create("categorization", {"attachment": "a photo of a cat"}, CATS)
    assert t.native_params == {"attachment": "a photo of a cat", "attachment_type": "text"}
    assert t.scale_params == {
        "attachment": "a photo of a cat",
        "attachment_type": "text",
        "categories": ["cat", "dog", "bird"],
        "allow_multiple": False,
    }


def test_categorization_of_a_taxonomy_echoes_its_leaves() -> None:
    t = create("categorization", {"attachment": "x", "attachment_type": "image"}, TREE)
    assert t.scale_params["categories"] == ["cat", "dog", "plant"]
    assert t.scale_params["attachment_type"] == "image"
    # Internal nodes are not choices unless the project allows them.
    refused(
        "categorization",
        {"attachment": "x", "categories": ["animal", "plant"]},
        TREE,
        "params.categories.0: 'animal' is not a category of the project",
    )


def test_categorization_categories_narrow_the_task_and_ids_are_echoed() -> None:
    body = {
        "attachment": "x",
        "categories": ["dog", "cat"],
        "allow_multiple": False,
        "category_ids": {"dog": "d-1", "cat": 7},
    }
    t = create("categorization", body, CATS)
    assert t.native_params["categories"] == ["dog", "cat"]
    assert t.scale_params["categories"] == ["dog", "cat"]
    assert t.scale_params["category_ids"] == {"dog": "d-1", "cat": 7}
    view = native_type("categorization").worker_view(CATS, t.native_params)
    assert view["choices"] == ["dog", "cat"]
    adapter = ADAPTERS["categorization"]
    assert scale_response(adapter, {"category": "cat"}, t, CATS) == {
        "category": "cat",
        "category_id": 7,
    }


def test_categorization_chat_attachment_is_labelmills_extension() -> None:
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    t = create("categorization", {"attachment": chat, "attachment_type": "chat"}, CATS)
    assert t.native_params["attachment"] == chat
    assert t.scale_params["attachment"] == chat


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "params.attachment: required"),
        ({"attachment": None}, "params.attachment: required"),
        ({"attachment": ""}, "params.attachment: must not be empty"),
        ({"attachment": 12}, "params.attachment: a text attachment is a string"),
        (
            {"attachment": "x", "attachment_type": "pdf"},
            "params.attachment_type: 'pdf' is not supported; one of text, image, website, chat",
        ),
        (
            {"attachment": [{"role": "bot", "content": "x"}], "attachment_type": "chat"},
            "params.attachment.0.role:",
        ),
        ({"attachment": "x", "categories": "cat"}, "params.categories: must be a list"),
        (
            {"attachment": "x", "categories": ["cat", "cow"]},
            "params.categories.1: 'cow' is not a category of the project",
        ),
        (
            {"attachment": "x", "categories": ["cat", "dog", "cat"]},
            "params.categories.2: 'cat' is given twice",
        ),
        (
            {"attachment": "x", "categories": ["cat", 3]},
            "params.categories.1: must be a category name",
        ),
        (
            {"attachment": "x", "categories": ["cat"]},
            "params.categories: categories must offer at least two choices",
        ),
        (
            {"attachment": "x", "allow_multiple": True},
            "params.allow_multiple: the project is single-choice (multiple: false)",
        ),
        ({"attachment": "x", "allow_multiple": "no"}, "params.allow_multiple: must be true"),
        ({"attachment": "x", "category_ids": ["a"]}, "params.category_ids: must be an object"),
        (
            {"attachment": "x", "categories": ["cat", "dog"], "category_ids": {"bird": "b"}},
            "params.category_ids.bird: 'bird' is not a category of the task",
        ),
        (
            {"attachment": "x", "category_ids": {"cat": True}},
            "params.category_ids.cat: an id is a string or an integer",
        ),
        (
            {"attachment": "x", "taxonomies": {"animal": {"choices": ["cat"]}}},
            "params.taxonomies: not supported",
        ),
    ],
)
def test_categorization_refusals_name_the_field(body: dict[str, Any], message: str) -> None:
    refused("categorization", body, CATS, message)


def test_categorization_multiple_answers_under_scales_key_as_a_list() -> None:
    t = create("categorization", {"attachment": "x"}, MULTI)
    assert t.scale_params["allow_multiple"] is True
    refused(
        "categorization",
        {"attachment": "x", "allow_multiple": False},
        MULTI,
        "params.allow_multiple: the project is multiple-choice (multiple: true)",
    )
    adapter = ADAPTERS["categorization"]
    clean = native_type("categorization").validate_response(
        {"categories": ["indoor", "dog"]}, MULTI, t.native_params
    )
    assert scale_response(adapter, clean, t, MULTI) == {"category": ["dog", "indoor"]}
    with_ids = create("categorization", {"attachment": "x", "category_ids": {"dog": "D"}}, MULTI)
    assert scale_response(adapter, clean, with_ids, MULTI) == {
        "category": ["dog", "indoor"],
        "category_id": ["D", None],
    }


def test_categorization_params_of_a_native_task_flatten_its_own_categories() -> None:
    adapter = ADAPTERS["categorization"]
    native = {"attachment": "u", "attachment_type": "website", "categories": ["dog", "bird"]}
    assert adapter.params_of_native(native, CATS) == {
        "attachment": "u",
        "attachment_type": "website",
        "categories": ["dog", "bird"],
        "allow_multiple": False,
    }
    tree_task = {"categories": [{"name": "pets", "children": ["cat", "dog"]}, "fish"]}
    assert adapter.params_of_native(tree_task, CATS)["categories"] == ["cat", "dog", "fish"]
    assert "attachment" not in adapter.params_of_native({}, CATS)


@pytest.mark.parametrize(
    ("params", "expected"),
    [(CATS, {"category": "cat"}), (MULTI, {"category": ["dog"]}), (TREE, {"category": "cat"})],
)
def test_categorization_placeholders_translate(
    params: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert placeholder_via_scale("categorization", {"attachment": "x"}, params) == expected


# --- textcollection ---------------------------------------------------------------------

FORM_AS_SCALE = [
    {
        "type": "text",
        "field_id": "response",
        "title": "response",
        "description": "Answer",
        "required": True,
        "min_characters": 10,
    },
    {
        "type": "number",
        "field_id": "score",
        "title": "score",
        "description": "",
        "required": False,
        "min": 1,
        "max": 5,
    },
    {
        "type": "category",
        "field_id": "language",
        "title": "language",
        "description": "",
        "required": True,
        "choices": [{"label": "en", "value": "en"}, {"label": "fr", "value": "fr"}],
        "min_choices": 1,
        "max_choices": 1,
    },
    {
        "type": "category",
        "field_id": "tags",
        "title": "tags",
        "description": "",
        "required": True,
        "choices": [
            {"label": "a", "value": "a"},
            {"label": "b", "value": "b"},
            {"label": "c", "value": "c"},
        ],
        "min_choices": 1,
        "max_choices": 3,
    },
]


def test_textcollection_echoes_the_projects_fields_in_scales_shape() -> None:
    body = {"attachments": [{"type": "image", "content": "https://x/a.png"}]}
    t = create("textcollection", body, FORM)
    assert t.native_params == {"attachment": "https://x/a.png", "attachment_type": "image"}
    assert t.scale_params == {
        "attachments": [{"type": "image", "content": "https://x/a.png"}],
        "fields": FORM_AS_SCALE,
        "responses_required": 1,
    }


def test_textcollection_takes_the_projects_fields_with_its_own_presentation() -> None:
    given = [
        {
            "type": "category",
            "field_id": "tags",
            "title": "Tags",
            "choices": [
                {"label": "C!", "value": "c"},
                {"label": "A!", "value": "a", "hint": "first"},
                {"value": "b"},
            ],
            "max_choices": 3,
        },
        {"type": "text", "field_id": "response", "title": "Write", "min_characters": 10},
        {"type": "number", "field_id": "score", "title": "Score", "min": 1.0, "required": False},
        {"type": "category", "field_id": "language", "title": "Lang", "hint": "pick one"},
    ]
    body = {
        "fields": given,
        "title": "Write a reply",
        "description": "Be kind",
        "responses_required": 3,
        "prompt": "Say hello",
    }
    t = create("textcollection", body, FORM)
    assert t.native_params == {"prompt": "Say hello"}
    fields = t.scale_params["fields"]
    assert [f["field_id"] for f in fields] == ["tags", "response", "score", "language"]
    assert fields[0]["title"] == "Tags"
    assert fields[0]["choices"] == [
        {"label": "C!", "value": "c"},
        {"label": "A!", "value": "a", "hint": "first"},
        {"label": "b", "value": "b"},
    ]
    assert fields[0]["max_choices"] == 3 and fields[0]["min_choices"] == 1
    assert fields[1] == {**FORM_AS_SCALE[0], "title": "Write"}
    assert fields[2] == {**FORM_AS_SCALE[1], "title": "Score"}
    assert fields[3] == {**FORM_AS_SCALE[2], "title": "Lang", "hint": "pick one"}
    assert t.scale_params["title"] == "Write a reply"
    assert t.scale_params["description"] == "Be kind"
    assert t.scale_params["responses_required"] == 3
    assert t.scale_params["prompt"] == "Say hello"
    assert t.scale_params["attachments"] == []


def _field(field_id: str, **extra: Any) -> dict[str, Any]:
    kinds = {"response": "text", "score": "number", "language": "category", "tags": "category"}
    return {"type": kinds[field_id], "field_id": field_id, **extra}


ALL_FIELDS = [_field(name) for name in ("response", "score", "language", "tags")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"attachments": [{"type": "text", "content": "a"}, {"type": "text", "content": "b"}]},
            "params.attachments: a labelmill text collection task holds one attachment (got 2)",
        ),
        ({"attachments": "a"}, "params.attachments: must be a list"),
        ({"attachments": ["a"]}, "params.attachments.0: must be an object"),
        (
            {"attachments": [{"type": "pdf", "content": "u"}]},
            "params.attachments.0.type: 'pdf' is not supported",
        ),
        ({"attachments": [{"content": "u"}]}, "params.attachments.0.type: required"),
        ({"attachments": [{"type": "text"}]}, "params.attachments.0.content: required"),
        (
            {"attachments": [{"type": "text", "content": ""}]},
            "params.attachments.0.content: must be a non-empty string",
        ),
        (
            {"attachments": [{"type": "text", "content": "u", "forms": ["f"]}]},
            "params.attachments.0.forms: not supported",
        ),
        (
            {"attachments": [{"type": "text", "content": "u" * 1_000_001}]},
            "params.attachments.0.content:",
        ),
        ({"prompt": 3}, "params.prompt: must be a string"),
        ({"title": ["t"]}, "params.title: must be a string"),
        ({"responses_required": 0}, "params.responses_required: must be a positive integer"),
        ({"responses_required": True}, "params.responses_required: must be a positive integer"),
        ({"fields": {}}, "params.fields: must be a list"),
        ({"fields": ["response"]}, "params.fields.0: must be a field object"),
        ({"fields": [{"type": "text"}]}, "params.fields.0.field_id: required"),
        (
            {"fields": [_field("response"), {"type": "text", "field_id": "poem"}]},
            "params.fields.1.field_id: 'poem' is not a field of the project",
        ),
        (
            {"fields": [_field("response"), _field("response")]},
            "params.fields.1.field_id: 'response' is given twice",
        ),
        (
            {"fields": [_field("response"), _field("score"), _field("language")]},
            "params.fields: the project's field 'tags' is missing",
        ),
        (
            {"fields": [{"field_id": "response"}, *ALL_FIELDS[1:]]},
            "params.fields.0.type: required",
        ),
        (
            {"fields": [{"type": "number", "field_id": "response"}, *ALL_FIELDS[1:]]},
            "params.fields.0.type: the project's field 'response' is a text field",
        ),
        (
            {"fields": [_field("response", min_characters=5), *ALL_FIELDS[1:]]},
            "params.fields.0.min_characters: the project's field 'response' has min_characters 10",
        ),
        (
            {"fields": [_field("response", max_characters=50), *ALL_FIELDS[1:]]},
            "params.fields.0.max_characters: the project's field 'response' has "
            "max_characters none",
        ),
        (
            {"fields": [_field("response", required=1), *ALL_FIELDS[1:]]},
            "params.fields.0.required: the project's field 'response' has required true",
        ),
        (
            {"fields": [_field("response", conditions={}), *ALL_FIELDS[1:]]},
            "params.fields.0.conditions: not supported on a text field",
        ),
        (
            {"fields": [_field("response", choices=[]), *ALL_FIELDS[1:]]},
            "params.fields.0.choices: a text field has no choices",
        ),
        (
            {"fields": [_field("response", title=5), *ALL_FIELDS[1:]]},
            "params.fields.0.title: must be a string",
        ),
        (
            {"fields": [*ALL_FIELDS[:3], _field("tags", max_choices=1)]},
            "params.fields.3.max_choices: the project's field 'tags' has max_choices 3",
        ),
        (
            {"fields": [*ALL_FIELDS[:2], _field("language", choices="en"), ALL_FIELDS[3]]},
            "params.fields.2.choices: must be a list",
        ),
        (
            {"fields": [*ALL_FIELDS[:2], _field("language", choices=["en"]), ALL_FIELDS[3]]},
            "params.fields.2.choices.0: must be an object",
        ),
        (
            {
                "fields": [
                    *ALL_FIELDS[:2],
                    _field("language", choices=[{"label": "E", "value": "en"}]),
                    ALL_FIELDS[3],
                ]
            },
            "params.fields.2.choices: the field 'language' also offers ['fr']",
        ),
        (
            {
                "fields": [
                    *ALL_FIELDS[:2],
                    _field("language", choices=[{"value": "en"}, {"value": "de"}]),
                    ALL_FIELDS[3],
                ]
            },
            "params.fields.2.choices.1.value: 'de' is not a choice of the field 'language'",
        ),
        (
            {
                "fields": [
                    *ALL_FIELDS[:2],
                    _field("language", choices=[{"value": "en"}, {"value": "en"}]),
                    ALL_FIELDS[3],
                ]
            },
            "params.fields.2.choices.1.value: 'en' is given twice",
        ),
        (
            {
                "fields": [
                    *ALL_FIELDS[:2],
                    _field("language", choices=[{"value": "en", "subchoices": []}]),
                    ALL_FIELDS[3],
                ]
            },
            "params.fields.2.choices.0.subchoices: not supported",
        ),
        (
            {
                "fields": [
                    *ALL_FIELDS[:2],
                    _field("language", choices=[{"value": "en", "label": 1}]),
                    ALL_FIELDS[3],
                ]
            },
            "params.fields.2.choices.0.label: must be a string",
        ),
    ],
)
def test_textcollection_refusals_name_the_field(body: dict[str, Any], message: str) -> None:
    refused("textcollection", body, FORM, message)


def test_textcollection_fields_given_without_settings_take_the_projects() -> None:
    t = create("textcollection", {"fields": ALL_FIELDS}, FORM)
    assert t.scale_params["fields"] == FORM_AS_SCALE


def test_textcollection_response_is_annotations_by_field_id() -> None:
    t = create("textcollection", {"attachments": [{"type": "text", "content": "Q?"}]}, FORM)
    clean = native_type("text_collection").validate_response(
        {"fields": {"response": "  a long enough answer ", "language": "fr", "tags": ["c", "a"]}},
        FORM,
        t.native_params,
    )
    assert scale_response(ADAPTERS["textcollection"], clean, t, FORM) == {
        "annotations": {
            "response": "a long enough answer",
            "language": ["fr"],  # a CategoryField answers a list, one choice too
            "tags": ["a", "c"],
        }
    }
    with_score = {"fields": {**clean["fields"], "score": 4}}
    response = scale_response(ADAPTERS["textcollection"], with_score, t, FORM)
    assert response["annotations"]["score"] == 4


def test_textcollection_params_of_a_native_task() -> None:
    adapter = ADAPTERS["textcollection"]
    assert adapter.params_of_native({"prompt": "P", "attachment": "doc"}, FORM) == {
        "attachments": [{"type": "text", "content": "doc"}],
        "fields": FORM_AS_SCALE,
        "responses_required": 1,
        "prompt": "P",
    }


def test_textcollection_placeholder_translates() -> None:
    assert placeholder_via_scale("textcollection", {}, FORM) == {
        "annotations": {
            "response": "placeholder",
            "score": 1,
            "language": ["en"],
            "tags": ["a"],
        }
    }


# --- imageannotation --------------------------------------------------------------------

GEOMETRIES: dict[str, dict[str, Any]] = {
    "box": {
        "objects_to_annotate": ["car"],
        "min_height": 0,
        "min_width": 0,
        "can_rotate": False,
        "integer_pixels": False,
    },
    "polygon": {"objects_to_annotate": ["road"], "min_vertices": 3, "max_vertices": None},
    "line": {"objects_to_annotate": ["lane"], "min_vertices": 2, "max_vertices": None},
    "point": {"objects_to_annotate": ["light"]},
}
ATTRIBUTES = {
    "color": {
        "type": "category",
        "description": "",
        "choices": ["red", "blue"],
        "conditions": {"label_condition": {"label": ["car", "light"]}},
    },
    "note": {
        "type": "text",
        "description": "anything odd",
        "conditions": {"label_condition": {"label": ["car"]}},
    },
}


def test_imageannotation_echoes_the_projects_objects_as_geometries() -> None:
    t = create("imageannotation", {"attachment": "https://x/a.png", "width": 640}, OBJECTS)
    assert t.native_params == {"image": "https://x/a.png", "width": 640}
    assert t.scale_params == {
        "attachment": "https://x/a.png",
        "attachment_type": "image",
        "geometries": GEOMETRIES,
        "annotation_attributes": ATTRIBUTES,
        "width": 640,
    }


def test_imageannotation_takes_geometries_naming_exactly_the_projects_objects() -> None:
    geometries = {
        "point": {"objects_to_annotate": [{"choice": "light"}]},
        "box": {"objects_to_annotate": ["car"], "min_height": 5, "min_width": 2.5},
        "line": {"objects_to_annotate": ["lane"], "max_vertices": 8},
        "polygon": {"objects_to_annotate": ["road"], "min_vertices": 4, "max_vertices": 4},
    }
    attributes = {"color": {"type": "category", "choices": ["red"]}}
    body = {
        "attachment": "u",
        "attachment_type": "image",
        "geometries": geometries,
        "annotation_attributes": attributes,
        "height": 480,
    }
    t = create("imageannotation", body, OBJECTS)
    assert t.native_params == {"image": "u", "height": 480}
    assert t.scale_params["geometries"] == {
        "point": {"objects_to_annotate": [{"choice": "light"}]},
        "box": {
            "objects_to_annotate": ["car"],
            "min_height": 5,
            "min_width": 2.5,
            "can_rotate": False,
            "integer_pixels": False,
        },
        "line": {"objects_to_annotate": ["lane"], "min_vertices": 2, "max_vertices": 8},
        "polygon": {"objects_to_annotate": ["road"], "min_vertices": 4, "max_vertices": 4},
    }
    assert t.scale_params["annotation_attributes"] == attributes
    assert t.scale_params["height"] == 480


def _geometries(**changes: Any) -> dict[str, Any]:
    return {
        **{k: {"objects_to_annotate": v["objects_to_annotate"]} for k, v in GEOMETRIES.items()},
        **changes,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "params.attachment: required"),
        ({"attachment": 5}, "params.attachment: must be a string"),
        ({"attachment": ""}, "params.attachment: must not be empty"),
        (
            {"attachment": "u", "attachment_type": "video"},
            "params.attachment_type: 'video' is not supported; only image",
        ),
        ({"attachment": "u", "padding": 10}, "params.padding: not supported"),
        ({"attachment": "u", "hypothesis": {}}, "params.hypothesis: not supported"),
        (
            {"attachment": "u", "context_attachments": []},
            "params.context_attachments: not supported",
        ),
        ({"attachment": "u", "links": {}}, "params.links: not supported"),
        ({"attachment": "u", "width": "640"}, "params.width:"),
        ({"attachment": "u", "height": 0}, "params.height:"),
        ({"attachment": "u", "geometries": []}, "params.geometries: must be an object"),
        (
            {"attachment": "u", "geometries": _geometries(cuboid={"objects_to_annotate": []})},
            "params.geometries.cuboid: not supported; labelmill draws box, polygon, line, point",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box=["car"])},
            "params.geometries.box: must be an object",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box={})},
            "params.geometries.box.objects_to_annotate: required",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box={"objects_to_annotate": "car"})},
            "params.geometries.box.objects_to_annotate: must be a list",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box={"objects_to_annotate": ["bus"]})},
            "params.geometries.box.objects_to_annotate.0: 'bus' is not an object of the project",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(box={"objects_to_annotate": ["car", "road"]}),
            },
            "params.geometries.box.objects_to_annotate.1: 'road' is a polygon object",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(box={"objects_to_annotate": ["car", {"choice": "car"}]}),
            },
            "params.geometries.box.objects_to_annotate.1: 'car' is given twice",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box={"objects_to_annotate": [3]})},
            "params.geometries.box.objects_to_annotate.0: must be a label",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(
                    box={"objects_to_annotate": [{"choice": "car", "subchoices": []}]}
                ),
            },
            "params.geometries.box.objects_to_annotate.0.subchoices: not supported",
        ),
        (
            {"attachment": "u", "geometries": _geometries(box={"objects_to_annotate": []})},
            "params.geometries: the project's object 'car' (box) is missing",
        ),
        (
            {
                "attachment": "u",
                "geometries": {k: v for k, v in _geometries().items() if k != "point"},
            },
            "params.geometries: the project's object 'light' (point) is missing",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(box={"objects_to_annotate": ["car"], "can_rotate": True}),
            },
            "params.geometries.box.can_rotate: not supported",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(box={"objects_to_annotate": ["car"], "min_width": -1}),
            },
            "params.geometries.box.min_width: must be a number ≥ 0",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(
                    box={"objects_to_annotate": ["car"], "integer_pixels": "yes"}
                ),
            },
            "params.geometries.box.integer_pixels: must be true or false",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(
                    polygon={"objects_to_annotate": ["road"], "min_vertices": 0}
                ),
            },
            "params.geometries.polygon.min_vertices: must be a positive integer",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(
                    polygon={"objects_to_annotate": ["road"], "min_vertices": 5, "max_vertices": 4}
                ),
            },
            "params.geometries.polygon.max_vertices: is less than min_vertices",
        ),
        (
            {
                "attachment": "u",
                "geometries": _geometries(point={"objects_to_annotate": ["light"], "min_width": 1}),
            },
            "params.geometries.point.min_width: not a setting of point geometries",
        ),
        (
            {"attachment": "u", "annotation_attributes": []},
            "params.annotation_attributes: must be an object",
        ),
        (
            {"attachment": "u", "annotation_attributes": {"speed": {"type": "number"}}},
            "params.annotation_attributes.speed: not an attribute of any of the project's objects",
        ),
        (
            {"attachment": "u", "annotation_attributes": {"color": "red"}},
            "params.annotation_attributes.color: must be an object",
        ),
    ],
)
def test_imageannotation_refusals_name_the_field(body: dict[str, Any], message: str) -> None:
    refused("imageannotation", body, OBJECTS, message)


ANSWER = {
    "annotations": [
        {
            "label": "car",
            "type": "box",
            "left": 10,
            "top": 20,
            "width": 100,
            "height": 50,
            "attributes": {"color": "red"},
        },
        {
            "label": "road",
            "type": "polygon",
            "vertices": [{"x": 0, "y": 0}, {"x": 50, "y": 0}, {"x": 25, "y": 40.5}],
        },
        {"label": "lane", "type": "line", "vertices": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]},
        {"label": "light", "type": "point", "x": 7, "y": 8, "attributes": {"color": "green"}},
    ]
}


def test_imageannotation_response_has_scales_shapes_and_stable_uuids() -> None:
    t = create("imageannotation", {"attachment": "https://x/a.png"}, OBJECTS)
    clean = native_type("image_annotation").validate_response(ANSWER, OBJECTS, t.native_params)
    adapter = ADAPTERS["imageannotation"]
    response = scale_response(adapter, clean, t, OBJECTS)
    ids = [a.pop("uuid") for a in response["annotations"]]
    assert response == {
        "annotations": [
            {
                "type": "box",
                "label": "car",
                "attributes": {"color": "red"},
                "left": 10,
                "top": 20,
                "width": 100,
                "height": 50,
            },
            {
                "type": "polygon",
                "label": "road",
                "attributes": {},
                "vertices": [{"x": 0, "y": 0}, {"x": 50, "y": 0}, {"x": 25, "y": 40.5}],
            },
            {
                "type": "line",
                "label": "lane",
                "attributes": {},
                "vertices": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
            },
            {"type": "point", "label": "light", "attributes": {"color": "green"}, "x": 7, "y": 8},
        ]
    }
    assert len(set(ids)) == 4 and all(uuid.UUID(i).version == 5 for i in ids)
    # Re-reading gives the same ids; another task's answer gets others.
    again = scale_response(adapter, clean, t, OBJECTS)
    assert [a["uuid"] for a in again["annotations"]] == ids
    other = create("imageannotation", {"attachment": "https://x/b.png"}, OBJECTS)
    elsewhere = scale_response(adapter, clean, other, OBJECTS)
    assert not set(ids) & {a["uuid"] for a in elsewhere["annotations"]}


def test_imageannotation_params_of_a_native_task_and_placeholder() -> None:
    adapter = ADAPTERS["imageannotation"]
    assert adapter.params_of_native({"image": "u", "width": 3, "height": 4}, OBJECTS) == {
        "attachment": "u",
        "attachment_type": "image",
        "geometries": GEOMETRIES,
        "annotation_attributes": ATTRIBUTES,
        "width": 3,
        "height": 4,
    }
    assert placeholder_via_scale("imageannotation", {"attachment": "u"}, OBJECTS) == {
        "annotations": []
    }


# --- namedentityrecognition -------------------------------------------------------------

TEXT = "Ada works at IBM."


def test_ner_echoes_the_projects_labels_and_relations() -> None:
    t = create("namedentityrecognition", {"text": TEXT}, NER)
    assert t.native_params == {"text": TEXT}
    assert t.scale_params == {
        "text": TEXT,
        "labels": [{"name": "PER"}, {"name": "ORG"}],
        "relationships": [{"name": "works_for"}],
    }
    bare = project("text_spans", {"labels": ["X"]})
    assert create("namedentityrecognition", {"text": "t"}, bare).scale_params["relationships"] == []


def test_ner_takes_the_projects_labels_in_either_form() -> None:
    body = {
        "text": TEXT,
        "labels": ["ORG", {"name": "PER", "description": "a person"}],
        "relationships": [{"name": "works_for"}],
    }
    t = create("namedentityrecognition", body, NER)
    assert t.scale_params["labels"] == [
        {"name": "ORG"},
        {"name": "PER", "description": "a person"},
    ]
    assert t.scale_params["relationships"] == [{"name": "works_for"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "params.text: required"),
        ({"text": ""}, "params.text: must not be empty"),
        ({"text": ["x"]}, "params.text: must be a string"),
        ({"text": "x" * 1_000_001}, "params.text:"),
        ({"text": TEXT, "labels": "PER"}, "params.labels: must be a list"),
        (
            {"text": TEXT, "labels": ["PER"]},
            "params.labels: the project's labels ['ORG'] are missing",
        ),
        (
            {"text": TEXT, "labels": ["PER", "ORG", "LOC"]},
            "params.labels.2: 'LOC' is not a label of the project",
        ),
        (
            {"text": TEXT, "labels": ["PER", "PER", "ORG"]},
            "params.labels.1: 'PER' is given twice",
        ),
        ({"text": TEXT, "labels": [1]}, "params.labels.0: must be a name or {name, description}"),
        ({"text": TEXT, "labels": [{"description": "x"}]}, "params.labels.0.name: required"),
        (
            {"text": TEXT, "labels": [{"name": "PER", "description": 2}]},
            "params.labels.0.description: must be a string",
        ),
        (
            {"text": TEXT, "labels": [{"name": "PER", "children": []}]},
            "params.labels.0.children: not supported",
        ),
        (
            {"text": TEXT, "relationships": ["works_for", "born_in"]},
            "params.relationships.1: 'born_in' is not a relation of the project",
        ),
        (
            {"text": TEXT, "relationships": []},
            "params.relationships: the project's relations ['works_for'] are missing",
        ),
    ],
)
def test_ner_refusals_name_the_field(body: dict[str, Any], message: str) -> None:
    refused("namedentityrecognition", body, NER, message)


def test_ner_response_has_texts_ids_and_relationship_refs() -> None:
    t = create("namedentityrecognition", {"text": TEXT}, NER)
    clean = native_type("text_spans").validate_response(
        {
            "spans": [
                {"start": 13, "end": 16, "label": "ORG"},
                {"start": 0, "end": 3, "label": "PER"},
            ],
            "relations": [{"from": 1, "to": 0, "label": "works_for"}],
        },
        NER,
        t.native_params,
    )
    adapter = ADAPTERS["namedentityrecognition"]
    response = scale_response(adapter, clean, t, NER)
    ada, ibm = response["annotations"]
    assert {k: ada[k] for k in ("start", "end", "text", "label")} == {
        "start": 0,
        "end": 3,
        "text": "Ada",
        "label": "PER",
    }
    assert (ibm["text"], ibm["label"]) == ("IBM", "ORG")
    (relation,) = response["relationships"]
    assert relation["source_ref"] == ada["id"] and relation["target_ref"] == ibm["id"]
    assert relation["name"] == "works_for"
    assert len({ada["id"], ibm["id"], relation["id"]}) == 3
    assert scale_response(adapter, clean, t, NER) == response


def test_ner_params_of_a_native_task_and_placeholder() -> None:
    adapter = ADAPTERS["namedentityrecognition"]
    assert adapter.params_of_native({"text": "t"}, NER)["labels"] == [
        {"name": "PER"},
        {"name": "ORG"},
    ]
    assert placeholder_via_scale("namedentityrecognition", {"text": TEXT}, NER) == {
        "annotations": [],
        "relationships": [],
    }


# --- comparison ---------------------------------------------------------------------------

NO_TIE = project("pairwise_comparison", {"allow_tie": False})
STRICT = project(
    "pairwise_comparison",
    {
        "allow_tie": False,
        "allow_both_bad": False,
        "criteria": [{"name": "honest"}],
        "rationale": "required",
    },
)


def test_comparison_maps_attachments_and_prompt() -> None:
    body = {"attachments": ["first", {"type": "text", "content": "second"}], "prompt": "Q?"}
    t = create("comparison", body, PAIR)
    assert t.native_params == {"prompt": "Q?", "response_a": "first", "response_b": "second"}
    assert t.scale_params == {
        "attachments": ["first", {"type": "text", "content": "second"}],
        "attachment_type": "text",
        "choices": ["a", "b", "tie", "both_bad"],
        "prompt": "Q?",
    }
    ctx = create("comparison", {"attachments": ["x", "y"], "context": "C"}, PAIR)
    assert ctx.native_params["prompt"] == "C" and ctx.scale_params["context"] == "C"
    assert "prompt" not in ctx.scale_params
    bare = create("comparison", {"attachments": ["x", "y"]}, NO_TIE)
    assert bare.native_params["prompt"] == ""
    assert bare.scale_params["choices"] == ["a", "b", "both_bad"]
    assert "prompt" not in bare.scale_params and "context" not in bare.scale_params


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "params.attachments: required"),
        ({"attachments": "ab"}, "params.attachments: must be a list"),
        (
            {"attachments": ["a", "b", "c"]},
            "params.attachments: a comparison takes exactly two (got 3)",
        ),
        ({"attachments": ["a", 2]}, "params.attachments.1: must be a text"),
        (
            {"attachments": ["a", {"type": "image", "content": "u"}]},
            "params.attachments.1.type: 'image' is not supported; only text",
        ),
        ({"attachments": ["a", {"type": "text"}]}, "params.attachments.1.content: required"),
        (
            {"attachments": [{"content": "a", "forms": []}, "b"]},
            "params.attachments.0.forms: not supported",
        ),
        ({"attachments": ["a" * 1_000_001, "b"]}, "params.attachments.0:"),
        (
            {"attachments": ["a", "b"], "attachment_type": "image"},
            "params.attachment_type: 'image' is not supported; only text",
        ),
        (
            {"attachments": ["a", "b"], "prompt": "p", "context": "c"},
            "params.context: give prompt or context, not both",
        ),
        ({"attachments": ["a", "b"], "prompt": 1}, "params.prompt: must be a string"),
        (
            {"attachments": ["a", "b"], "choices": ["yes", "no"]},
            "params.choices: the project allows 4 answers (a, b, tie, both_bad): give 4 labels",
        ),
        (
            {"attachments": ["a", "b"], "choices": ["A", "B", "=", "A"]},
            "params.choices.3: 'A' is given twice",
        ),
        (
            {"attachments": ["a", "b"], "choices": ["A", "B", "", "x"]},
            "params.choices.2: must be a non-empty string",
        ),
        ({"attachments": ["a", "b"], "fields": []}, "params.fields: not supported"),
    ],
)
def test_comparison_refusals_name_the_field(body: dict[str, Any], message: str) -> None:
    refused("comparison", body, PAIR, message)


def test_comparison_choice_is_the_label_at_the_native_position() -> None:
    adapter = ADAPTERS["comparison"]
    t = create("comparison", {"attachments": ["x", "y"], "choices": ["X", "Y", "neither"]}, NO_TIE)
    for native, label in (("a", "X"), ("b", "Y"), ("both_bad", "neither")):
        clean = native_type("pairwise_comparison").validate_response(
            {"choice": native}, NO_TIE, t.native_params
        )
        assert scale_response(adapter, clean, t, NO_TIE) == {"choice": label}
    default = create("comparison", {"attachments": ["x", "y"]}, PAIR)
    assert scale_response(adapter, {"choice": "tie", "criteria": {}}, default, PAIR) == {
        "choice": "tie"
    }


def test_comparison_response_carries_criteria_and_rationale() -> None:
    adapter = ADAPTERS["comparison"]
    t = create("comparison", {"attachments": ["x", "y"], "choices": ["left", "right"]}, STRICT)
    clean = native_type("pairwise_comparison").validate_response(
        {"choice": "b", "criteria": {"honest": "tie"}, "rationale": " shorter "},
        STRICT,
        t.native_params,
    )
    assert scale_response(adapter, clean, t, STRICT) == {
        "choice": "right",
        "criteria": {"honest": "tie"},
        "rationale": "shorter",
    }
    assert placeholder_via_scale("comparison", {"attachments": ["x", "y"]}, STRICT) == {
        "choice": "a",
        "criteria": {"honest": "a"},
        "rationale": "placeholder",
    }
    assert placeholder_via_scale("comparison", {"attachments": ["x", "y"]}, PAIR) == {"choice": "a"}


def test_comparison_params_of_a_native_conversation() -> None:
    adapter = ADAPTERS["comparison"]
    messages = [{"role": "user", "content": "hi"}]
    native = {"messages": messages, "response_a": "A", "response_b": "B", "model_a": "m1"}
    assert adapter.params_of_native(native, STRICT) == {
        "attachments": ["A", "B"],
        "attachment_type": "text",
        "choices": ["a", "b"],
        "messages": messages,
    }


# --- settled answers ----------------------------------------------------------------------

SETTLED_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    # scale type: (request body, project params, a native answer, its Scale response)
    "categorization": (
        {"attachment": "x"},
        CATS,
        {"category": "dog"},
        {"category": "dog"},
    ),
    "textcollection": (
        {},
        FORM,
        {"fields": {"response": "ten chars!", "language": "en", "tags": ["b"]}},
        {"annotations": {"response": "ten chars!", "language": ["en"], "tags": ["b"]}},
    ),
    "comparison": (
        {"attachments": ["x", "y"], "choices": ["L", "R", "=", "neither"]},
        PAIR,
        {"choice": "tie", "criteria": {}},
        {"choice": "="},
    ),
}


@pytest.mark.parametrize("scale_name", sorted(SETTLED_CASES))
def test_an_aggregated_answer_translates(scale_name: str) -> None:
    # What a completed task holds is the aggregator's settled answer, not a submission.
    body, params, answer, expected = SETTLED_CASES[scale_name]
    adapter = ADAPTERS[scale_name]
    t = create(scale_name, body, params)
    native = native_type(adapter.native_name)
    clean = native.validate_response(answer, params, t.native_params)
    settled = native.settle(
        [Answer(1, clean, 0.9), Answer(2, clean, 0.9)],
        project_params=params,
        task_params=t.native_params,
        confidence_target=0.5,
        at_max_labels=True,
    )
    assert settled.complete and settled.response is not None
    assert scale_response(adapter, settled.response, t, params) == expected


def test_aggregated_spans_and_objects_translate() -> None:
    ner = create("namedentityrecognition", {"text": TEXT}, NER)
    spans = native_type("text_spans").validate_response(
        {"spans": [{"start": 0, "end": 3, "label": "PER"}]}, NER, ner.native_params
    )
    settled = native_type("text_spans").settle(
        [Answer(1, spans, 0.9), Answer(2, spans, 0.9)],
        project_params=NER,
        task_params=ner.native_params,
        confidence_target=0.5,
        at_max_labels=True,
    )
    assert settled.response is not None
    response = scale_response(ADAPTERS["namedentityrecognition"], settled.response, ner, NER)
    assert [(a["text"], a["label"]) for a in response["annotations"]] == [("Ada", "PER")]
    image = create("imageannotation", {"attachment": "u"}, OBJECTS)
    boxes = native_type("image_annotation").validate_response(
        {"annotations": ANSWER["annotations"][:1]}, OBJECTS, image.native_params
    )
    settled = native_type("image_annotation").settle(
        [Answer(1, boxes, 0.9), Answer(2, boxes, 0.9)],
        project_params=OBJECTS,
        task_params=image.native_params,
        confidence_target=0.5,
        at_max_labels=True,
    )
    assert settled.response is not None
    (box,) = scale_response(ADAPTERS["imageannotation"], settled.response, image, OBJECTS)[
        "annotations"
    ]
    assert {k: box[k] for k in ("type", "label", "left", "top", "width", "height")} == {
        "type": "box",
        "label": "car",
        "left": 10,
        "top": 20,
        "width": 100,
        "height": 50,
    }
    assert box["attributes"] == {"color": "red"}


def test_the_project_type_names_and_the_task_adapters_agree() -> None:
    from labelmill.server.scale.serialize import SCALE_TO_NATIVE

    assert {name: a.native_name for name, a in ADAPTERS.items()} == SCALE_TO_NATIVE
