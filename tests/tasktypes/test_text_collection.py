"""Text collection: form fields, their checks, and settling written answers."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type

TYPE = get_task_type("text_collection")
assert TYPE is not None

FIELDS: list[dict[str, Any]] = [
    {"name": "response", "type": "text", "min_length": 3, "max_length": 40},
    {"name": "language", "type": "choice", "choices": ["en", "fr"]},
    {"name": "stars", "type": "number", "min": 0, "max": 10, "required": False},
    {"name": "topics", "type": "multi_choice", "choices": ["a", "b", "c"], "required": False},
]
PARAMS = TYPE.validate_project_params({"instruction": "Answer the prompt", "fields": FIELDS})
TASK = TYPE.validate_task_params({"prompt": "Say hello"}, PARAMS)
CHOICES_ONLY = TYPE.validate_project_params({"fields": FIELDS[1:2]})


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ({"name": "f", "type": "choice"}, ("fields", 1, "choices")),
        ({"name": "f", "type": "choice", "choices": ["x", "x"]}, ("fields", 1, "choices")),
        ({"name": "f", "type": "text", "choices": ["x"]}, ("fields", 1, "choices")),
        ({"name": "f", "type": "number", "min_length": 2}, ("fields", 1, "min_length")),
        ({"name": "f", "type": "text", "max": 2}, ("fields", 1, "max")),
        ({"name": "f", "type": "number", "min": 3, "max": 2}, ("fields", 1, "max")),
        (
            {"name": "f", "type": "text", "min_length": 3, "max_length": 2},
            ("fields", 1, "max_length"),
        ),
        ({"name": "f", "type": "date"}, ("fields", 1, "type")),
        ({"name": "ok", "type": "text"}, ("fields", 1, "name")),
    ],
)
def test_bad_fields_name_the_setting(field: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_project_params({"fields": [{"name": "ok", "type": "text"}, field]})
    assert _locs(excinfo)[0][: len(loc)] == loc


def test_task_params_and_view() -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_task_params({"attachment": "x", "attachment_type": "pdf"}, PARAMS)
    assert _locs(excinfo) == [("attachment_type",)]
    view = TYPE.worker_view(PARAMS, TASK)
    assert view["prompt"] == "Say hello" and [f["name"] for f in view["fields"]][:2] == [
        "response",
        "language",
    ]


def test_responses_are_checked_field_by_field_and_normalised() -> None:
    clean = TYPE.validate_response(
        {"fields": {"response": "  Hello there ", "language": "en", "topics": ["c", "a"]}},
        PARAMS,
        TASK,
    )
    assert clean == {"fields": {"response": "Hello there", "language": "en", "topics": ["a", "c"]}}
    base = {"response": "Hello", "language": "en"}
    for fields, loc in (
        ({"language": "en"}, ("fields", "response")),
        ({**base, "response": "Hi"}, ("fields", "response")),
        ({**base, "response": "x" * 41}, ("fields", "response")),
        ({**base, "response": 12}, ("fields", "response")),
        ({**base, "language": "de"}, ("fields", "language")),
        ({**base, "stars": 11}, ("fields", "stars")),
        ({**base, "stars": True}, ("fields", "stars")),
        ({**base, "topics": ["a", "a"]}, ("fields", "topics")),
        ({**base, "topics": ["z"]}, ("fields", "topics")),
        ({**base, "mood": "happy"}, ("fields", "mood")),
    ):
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_response({"fields": fields}, PARAMS, TASK)
        assert _locs(excinfo) == [loc], fields


def test_placeholder_keys_and_agreement() -> None:
    placeholder = TYPE.placeholder_response(PARAMS, TASK)
    assert TYPE.validate_response(placeholder, PARAMS, TASK) == placeholder
    a = {"fields": {"response": "Hello  World", "language": "en"}}
    b = {"fields": {"response": "hello world", "language": "en"}}
    assert TYPE.agrees(a, b)
    assert not TYPE.agrees(a, {"fields": {"response": "Hello world!", "language": "en"}})
    assert TYPE.flat_answer(a) == {"fields": '{"response": "Hello  World", "language": "en"}'}
    assert TYPE.flat_answer(None) == {"fields": ""}


def _settle(
    responses: list[dict[str, Any]],
    skills: list[float | None] | None = None,
    *,
    params: dict[str, Any] = PARAMS,
    target: float = 0.85,
    at_max: bool = False,
) -> Any:
    skills = skills or [None] * len(responses)
    answers = [
        Answer(i + 1, {"fields": r}, s)
        for i, (r, s) in enumerate(zip(responses, skills, strict=True))
    ]
    return TYPE.settle(
        answers,
        project_params=params,
        task_params=TASK,
        confidence_target=target,
        at_max_labels=at_max,
    )


def test_a_form_with_text_completes_at_its_label_target_with_the_agreement_as_confidence() -> None:
    one = _settle([{"response": "Hello", "language": "en"}])
    assert one.complete and one.response == {"fields": {"response": "Hello", "language": "en"}}
    assert one.confidence == pytest.approx(1 - 0.5**1.7)
    matching = _settle(
        [
            {"response": "Hello there", "language": "en"},
            {"response": "hello  THERE", "language": "en"},
        ]
    )
    different = _settle(
        [{"response": "Hello there", "language": "en"}, {"response": "Hi you", "language": "en"}]
    )
    assert matching.complete and different.complete
    assert matching.confidence > different.confidence


def test_texts_come_from_one_author_and_choices_from_the_vote() -> None:
    settled = _settle(
        [
            {"response": "Bonjour", "language": "fr", "stars": 3},
            {"response": "Hello", "language": "en", "stars": 3},
            {"response": "hello", "language": "en"},
        ],
        [0.9, 0.6, 0.6],
    )
    # "hello" has the most weight (1.2 against 0.9); of its two authors the first is kept.
    # Stars: 3 has 1.5 against 0.6 for leaving the optional field out.
    assert settled.response == {"fields": {"response": "Hello", "language": "en", "stars": 3}}
    left_out = _settle(
        [
            {"response": "Hello", "language": "en", "stars": 3},
            {"response": "Hello", "language": "en"},
        ],
        [0.6, 0.9],
    )
    assert left_out.response == {"fields": {"response": "Hello", "language": "en"}}


def test_a_form_of_choices_is_a_vote_weighted_by_skill() -> None:
    agree = _settle([{"language": "en"}] * 3, params=CHOICES_ONLY)
    assert agree.complete and agree.response == {"fields": {"language": "en"}}
    split = _settle([{"language": "en"}, {"language": "fr"}], params=CHOICES_ONLY)
    assert not split.complete and split.confidence == pytest.approx(0.5)
    weighted = _settle(
        [{"language": "en"}, {"language": "en"}, {"language": "fr"}],
        [0.3, 0.3, 0.95],
        params=CHOICES_ONLY,
        at_max=True,
    )
    assert weighted.response == {"fields": {"language": "fr"}}
