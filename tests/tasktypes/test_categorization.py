"""Categorization: taxonomies, multiple choice and chat attachments."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type

TYPE = get_task_type("categorization")
assert TYPE is not None

TAXONOMY: list[Any] = [
    {"name": "animal", "children": ["dog", {"name": "bird", "children": ["owl", "duck"]}]},
    "plant",
]


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


def test_taxonomy_offers_leaves_only_unless_internal_nodes_are_allowed() -> None:
    params = TYPE.validate_project_params({"categories": TAXONOMY})
    view = TYPE.worker_view(params, {})
    assert view["choices"] == ["dog", "owl", "duck", "plant"]
    assert view["categories"] == params["categories"]
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_response({"category": "bird"}, params, {})
    assert _locs(excinfo) == [("category",)]
    internal = TYPE.validate_project_params({"categories": TAXONOMY, "allow_internal": True})
    assert TYPE.validate_response({"category": "bird"}, internal, {}) == {"category": "bird"}
    assert TYPE.answer_classes(internal, {}) == 6


@pytest.mark.parametrize(
    "categories",
    [
        ["a", {"name": "b", "children": ["a"]}],  # a name twice in the tree
        [{"name": "only", "children": ["one"]}],  # one selectable leaf
        ["a", " "],
    ],
)
def test_bad_taxonomies_name_the_categories_field(categories: list[Any]) -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_project_params({"categories": categories})
    assert _locs(excinfo) == [("categories",)]


def test_multiple_choice_is_normalised_to_taxonomy_order_and_checked() -> None:
    params = TYPE.validate_project_params({"categories": TAXONOMY, "multiple": True})
    clean = TYPE.validate_response({"categories": ["plant", "dog"]}, params, {})
    assert clean == {"categories": ["dog", "plant"]}
    assert TYPE.answer_key(clean) == TYPE.answer_key({"categories": ["dog", "plant"]})
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_response({"categories": ["dog", "cat", "dog"]}, params, {})
    assert _locs(excinfo) == [("categories", 1), ("categories", 2)]
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_response({"category": "dog"}, params, {})
    assert ("categories",) in _locs(excinfo)
    assert TYPE.answer_classes(params, {}) is None
    placeholder = TYPE.placeholder_response(params, {})
    assert TYPE.validate_response(placeholder, params, {}) == placeholder
    assert TYPE.flat_answer(clean) == {"category": "dog|plant"}


def _answers(*sets: list[str], skill: float = 0.8) -> list[Answer]:
    return [Answer(i + 1, {"categories": s}, skill) for i, s in enumerate(sets)]


def test_multiple_choice_settles_per_category() -> None:
    params = TYPE.validate_project_params({"categories": ["a", "b", "c"], "multiple": True})
    agreeing = TYPE.settle(
        _answers(["a", "b"], ["a", "b"], ["a", "b"]),
        project_params=params,
        task_params={},
        confidence_target=0.9,
        at_max_labels=False,
    )
    assert agreeing.complete and agreeing.response == {"categories": ["a", "b"]}
    split = TYPE.settle(
        _answers(["a"], ["a", "c"]),
        project_params=params,
        task_params={},
        confidence_target=0.9,
        at_max_labels=False,
    )
    assert not split.complete and split.confidence < agreeing.confidence
    capped = TYPE.settle(
        _answers(["a"], ["a", "c"], ["a"]),
        project_params=params,
        task_params={},
        confidence_target=0.999,
        at_max_labels=True,
    )
    assert capped.complete and capped.response == {"categories": ["a"]}
    # A skilled worker outweighs two weak ones on "c".
    weighted = TYPE.settle(
        [Answer(9, {"categories": ["a", "c"]}, 0.97), *_answers(["a"], ["a"], skill=0.55)],
        project_params=params,
        task_params={},
        confidence_target=0.5,
        at_max_labels=True,
    )
    assert weighted.response == {"categories": ["a", "c"]}


def test_chat_transcript_attachment() -> None:
    params = TYPE.validate_project_params({"categories": ["safe", "unsafe"]})
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    clean = TYPE.validate_task_params({"attachment": chat, "attachment_type": "chat"}, params)
    assert clean["attachment"] == chat
    assert TYPE.worker_view(params, clean)["attachment_type"] == "chat"
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params(
            {"attachment": [{"role": "robot", "content": "x"}], "attachment_type": "chat"}, params
        )
    assert _locs(excinfo)[0][:3] == ("attachment", 0, "role")
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params({"attachment": chat}, params)  # a text attachment is a string
    assert _locs(excinfo) == [("attachment",)]


def test_response_schema_describes_both_shapes() -> None:
    schema = TYPE.response_schema()
    shapes = [set(s["properties"]) for s in schema["oneOf"]]
    assert shapes == [{"category"}, {"categories"}]
