"""image_annotation: params, responses (checked against the image's bounds, the declared
objects, their geometries and attributes), agreement by IoU matching, settling."""

from __future__ import annotations

import random
from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type
from labelmill.tasktypes.base import TaskType

PROJECT_RAW: dict[str, Any] = {
    "objects": [
        {
            "label": "car",
            "geometry": "box",
            "attributes": [
                {"name": "color", "type": "choice", "choices": ["red", "blue"], "required": True},
                {"name": "note", "type": "text"},
            ],
        },
        {"label": "road", "geometry": "polygon"},
        {"label": "light", "geometry": "point"},
        {"label": "lane", "geometry": "line"},
    ]
}
CAR = {
    "label": "car",
    "type": "box",
    "left": 10,
    "top": 20,
    "width": 100,
    "height": 50,
    "attributes": {"color": "red"},
}
ROAD = {
    "label": "road",
    "type": "polygon",
    "vertices": [{"x": 0, "y": 300}, {"x": 640, "y": 300}, {"x": 640, "y": 480}],
    "attributes": {},
}
LIGHT = {"label": "light", "type": "point", "x": 300, "y": 40, "attributes": {}}
LANE = {
    "label": "lane",
    "type": "line",
    "vertices": [{"x": 100, "y": 400}, {"x": 500, "y": 400}],
    "attributes": {},
}


@pytest.fixture
def kind() -> TaskType:
    task_type = get_task_type("image_annotation")
    assert task_type is not None
    return task_type


@pytest.fixture
def project(kind: TaskType) -> dict[str, Any]:
    return kind.validate_project_params(PROJECT_RAW)


@pytest.fixture
def task(kind: TaskType, project: dict[str, Any]) -> dict[str, Any]:
    return kind.validate_task_params(
        {"image": "https://x/a.jpg", "width": 640, "height": 480}, project
    )


def _locs(exc: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in exc.value.problems]


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({"objects": []}, ("objects",)),
        ({"objects": [{"label": "a", "geometry": "circle"}]}, ("objects", 0, "geometry")),
        (
            {"objects": [{"label": "a", "geometry": "box"}, {"label": "a", "geometry": "point"}]},
            ("objects", 1, "label"),
        ),
        (
            {
                "objects": [
                    {
                        "label": "a",
                        "geometry": "box",
                        "attributes": [{"name": "c", "type": "choice"}],
                    }
                ]
            },
            ("objects", 0, "attributes", 0, "choices"),
        ),
        (
            {
                "objects": [
                    {
                        "label": "a",
                        "geometry": "box",
                        "attributes": [{"name": "n", "type": "number", "choices": ["x"]}],
                    }
                ]
            },
            ("objects", 0, "attributes", 0, "choices"),
        ),
    ],
)
def test_bad_project_params_name_the_field(
    kind: TaskType, raw: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_project_params(raw)
    assert loc in _locs(exc), exc.value.problems


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({}, ("image",)),
        ({"image": "u", "width": 0}, ("width",)),
        ({"image": "u", "height": 1.5}, ("height",)),
    ],
)
def test_bad_task_params_name_the_field(
    kind: TaskType, project: dict[str, Any], raw: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_task_params(raw, project)
    assert loc in _locs(exc)


def test_every_geometry_validates_and_normalises(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    raw = {
        "annotations": [
            {**CAR, "left": 10.0, "attributes": {"color": "red", "note": "  "}},
            {k: v for k, v in ROAD.items() if k != "attributes"},
            LIGHT,
            LANE,
        ]
    }
    clean = kind.validate_response(raw, project, task)
    assert clean == {"annotations": [CAR, ROAD, LIGHT, LANE]}
    assert isinstance(clean["annotations"][0]["left"], int)
    assert kind.validate_response(clean, project, task) == clean


def test_without_a_size_only_negative_coordinates_are_refused(
    kind: TaskType, project: dict[str, Any]
) -> None:
    task = kind.validate_task_params({"image": "u"}, project)
    far = {**CAR, "left": 5000}
    assert kind.validate_response({"annotations": [far]}, project, task)["annotations"] == [far]
    with pytest.raises(ParamsError) as exc:
        kind.validate_response({"annotations": [{**CAR, "top": -1}]}, project, task)
    assert ("annotations", 0, "top") in _locs(exc)


@pytest.mark.parametrize(
    ("shape", "loc"),
    [
        ({**CAR, "left": 600}, ("annotations", 0, "width")),
        ({**CAR, "top": 470}, ("annotations", 0, "height")),
        ({**CAR, "left": -2}, ("annotations", 0, "left")),
        ({**CAR, "width": 0}, ("annotations", 0, "width")),
        ({**CAR, "label": "bus"}, ("annotations", 0, "label")),
        ({**CAR, "type": "circle"}, ("annotations", 0, "type")),
        ({**LIGHT, "label": "car"}, ("annotations", 0, "type")),
        ({**LIGHT, "x": 641}, ("annotations", 0, "x")),
        ({**ROAD, "vertices": ROAD["vertices"][:2]}, ("annotations", 0, "vertices")),
        (
            {**ROAD, "vertices": [*ROAD["vertices"][:2], {"x": 5, "y": 481}]},
            ("annotations", 0, "vertices", 2, "y"),
        ),
        ({**LANE, "vertices": LANE["vertices"][:1]}, ("annotations", 0, "vertices")),
        ({**CAR, "attributes": {}}, ("annotations", 0, "attributes", "color")),
        ({**CAR, "attributes": {"color": "green"}}, ("annotations", 0, "attributes", "color")),
        (
            {**CAR, "attributes": {"color": "red", "speed": 3}},
            ("annotations", 0, "attributes", "speed"),
        ),
        ({**CAR, "extra": 1}, ("annotations", 0, "extra")),
        ({**LIGHT, "x": True}, ("annotations", 0, "x")),
    ],
)
def test_bad_responses_name_the_field(
    kind: TaskType,
    project: dict[str, Any],
    task: dict[str, Any],
    shape: dict[str, Any],
    loc: tuple[str | int, ...],
) -> None:
    with pytest.raises(ParamsError) as exc:
        kind.validate_response({"annotations": [shape]}, project, task)
    assert loc in _locs(exc), exc.value.problems


def test_placeholder_view_and_flat_answer(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    placeholder = kind.placeholder_response(project, task)
    assert kind.validate_response(placeholder, project, task) == placeholder
    view = kind.worker_view(project, task)
    assert (view["image"], view["width"], view["height"]) == ("https://x/a.jpg", 640, 480)
    assert [o["label"] for o in view["objects"]] == ["car", "road", "light", "lane"]
    assert kind.flat_answer({"annotations": []}) == {"annotations": "[]"}
    assert kind.flat_answer(None) == {"annotations": ""}


def test_answer_key_and_agreement(kind: TaskType) -> None:
    full = {"annotations": [CAR, ROAD, LIGHT, LANE]}
    assert kind.answer_key(full) == kind.answer_key({"annotations": [LANE, LIGHT, ROAD, CAR]})
    assert kind.answer_key(full) != kind.answer_key({"annotations": [CAR]})
    shifted = {
        "annotations": [
            {**CAR, "left": 15},  # IoU 0.82
            ROAD,
            {**LIGHT, "x": 308},  # 8 pixels off: still the same light
            {**LANE, "vertices": [{"x": 100, "y": 405}, {"x": 500, "y": 405}]},
        ]
    }
    assert kind.agrees(shifted, full)
    # One of four missed: F1 6/7 agrees; two missed: F1 2/3 does not.
    assert kind.agrees({"annotations": [CAR, ROAD, LIGHT]}, full)
    assert not kind.agrees({"annotations": [CAR, ROAD]}, full)
    assert not kind.agrees({"annotations": [{**LIGHT, "x": 330}]}, {"annotations": [LIGHT]})
    assert not kind.agrees({"annotations": [{**CAR, "left": 70}]}, {"annotations": [CAR]})
    assert kind.agrees({"annotations": []}, {"annotations": []})


def _settle(
    kind: TaskType,
    project: dict[str, Any],
    task: dict[str, Any],
    responses: list[dict[str, Any]],
    skills: list[float | None],
    at_max: bool = False,
) -> Any:
    answers = [
        Answer(i, kind.validate_response(r, project, task), s)
        for i, (r, s) in enumerate(zip(responses, skills, strict=True))
    ]
    return kind.settle(
        answers,
        project_params=project,
        task_params=task,
        confidence_target=0.8,
        at_max_labels=at_max,
    )


def test_agreeing_workers_complete_with_averaged_boxes_and_supported_shapes(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    first = {"annotations": [CAR, ROAD, LIGHT]}
    second = {"annotations": [{**CAR, "left": 14}, ROAD, {**LIGHT, "x": 304}]}
    settled = _settle(kind, project, task, [first, second], [None, None])
    assert settled.complete
    assert settled.confidence == pytest.approx(1 - 0.5**2.4)
    assert settled.response is not None
    by_label = {a["label"]: a for a in settled.response["annotations"]}
    assert by_label["car"] == {**CAR, "left": 12}  # the mean of 10 and 14
    assert by_label["road"] == ROAD
    assert by_label["light"] in (LIGHT, {**LIGHT, "x": 304})  # a member, not a mean
    assert kind.validate_response(settled.response, project, task) == settled.response


def test_disagreeing_workers_need_another_label(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    settled = _settle(
        kind, project, task, [{"annotations": [CAR]}, {"annotations": []}], [None, None]
    )
    assert not settled.complete and settled.response is None
    assert settled.confidence < 0.8


def test_skill_weights_decide_objects_and_attributes(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    red = {"annotations": [CAR]}
    blue = {"annotations": [{**CAR, "attributes": {"color": "blue"}}]}
    nothing: dict[str, Any] = {"annotations": []}
    assert _settle(kind, project, task, [red, blue], [0.9, 0.5], True).response == red
    assert _settle(kind, project, task, [red, blue], [0.5, 0.9], True).response == blue
    assert _settle(kind, project, task, [red, nothing], [0.9, 0.5], True).response == red
    assert _settle(kind, project, task, [red, nothing], [0.4, 0.9], True).response == nothing
    # An attribute split lowers the confidence below that of agreeing attributes.
    split = _settle(kind, project, task, [red, blue, red], [0.7, 0.7, 0.7], True)
    agreed = _settle(kind, project, task, [red, red, red], [0.7, 0.7, 0.7], True)
    assert split.confidence < agreed.confidence


def test_crowded_scenes_settle_to_valid_answers(
    kind: TaskType, project: dict[str, Any], task: dict[str, Any]
) -> None:
    """Many overlapping, jittered objects from several workers: the consensus is always a
    valid response, whatever way the clusters form."""
    rng = random.Random(5)
    for _ in range(30):
        responses = []
        for _worker in range(4):
            shapes: list[dict[str, Any]] = []
            for _k in range(rng.randint(0, 5)):
                left, top = rng.randint(0, 80), rng.randint(0, 60)
                shapes.append(
                    {**CAR, "left": left, "top": top, "width": rng.randint(20, 60), "height": 40}
                )
                shapes.append({**LIGHT, "x": left + rng.randint(0, 12), "y": top})
            responses.append({"annotations": shapes})
        skills: list[float | None] = [rng.choice([None, 0.6, 0.9]) for _ in responses]
        settled = _settle(kind, project, task, responses, skills, at_max=True)
        assert settled.response is not None
        assert kind.validate_response(settled.response, project, task) == settled.response


VEHICLES_RAW: dict[str, Any] = {
    "objects": [
        {"label": "car", "geometry": "box"},
        {"label": "truck", "geometry": "box"},
        {"label": "bus", "geometry": "box"},
        {"label": "light", "geometry": "point"},
    ]
}


def _vehicle(label: str, left: int) -> dict[str, Any]:
    return {"label": label, "type": "box", "left": left, "top": 20, "width": 100, "height": 50}


def test_a_split_label_is_one_object_with_the_voted_label(
    kind: TaskType, task: dict[str, Any]
) -> None:
    """Three workers draw one vehicle: car, car, truck. It is one car box averaged over all
    three drawings; the confidence counts the 2-to-1 label split."""
    from labelmill.quality.pairwise import vote_confidence
    from labelmill.quality.stopping import DEFAULT_SKILL

    project = kind.validate_project_params(VEHICLES_RAW)
    responses = [
        {"annotations": [_vehicle(label, left)]}
        for label, left in (("car", 10), ("car", 12), ("truck", 14))
    ]
    settled = _settle(kind, project, task, responses, [None] * 3, at_max=True)
    assert settled.response == {"annotations": [{**_vehicle("car", 12), "attributes": {}}]}
    w = DEFAULT_SKILL
    expected = float(vote_confidence(3 * w, 0)) * float(vote_confidence(2 * w, w))
    assert settled.confidence == pytest.approx(expected)
    # car / truck / bus: the vehicle is there (all three drew it); the label is a tie, broken
    # by sorted order. Per-label matching would have found no object.
    responses = [{"annotations": [_vehicle(label, 10)]} for label in ("car", "truck", "bus")]
    settled = _settle(kind, project, task, responses, [None] * 3, at_max=True)
    assert settled.response == {"annotations": [{**_vehicle("bus", 10), "attributes": {}}]}
    # Skills decide the vote: the truck worker outweighs the two car workers.
    responses = [{"annotations": [_vehicle(label, 10)]} for label in ("car", "car", "truck")]
    settled = _settle(kind, project, task, responses, [0.3, 0.3, 0.9], at_max=True)
    assert settled.response == {"annotations": [{**_vehicle("truck", 10), "attributes": {}}]}


def test_labels_of_different_geometries_are_never_one_object(
    kind: TaskType, task: dict[str, Any]
) -> None:
    """A car box and a light point on the same spot (the point's match box is the box): one
    worker drew the car, one the light, one both. Each is an object drawn by two of three; a
    box and a point are not one object with a split label."""
    project = kind.validate_project_params(VEHICLES_RAW)
    car = {**_vehicle("car", 285), "top": 25, "width": 30, "height": 30}
    light = {"label": "light", "type": "point", "x": 300, "y": 40}
    responses = [
        {"annotations": [car]},
        {"annotations": [light]},
        {"annotations": [car, light]},
    ]
    settled = _settle(kind, project, task, responses, [None] * 3, at_max=True)
    assert settled.response == {
        "annotations": [{**car, "attributes": {}}, {**light, "attributes": {}}]
    }


def test_match_groups_keep_objects_that_overlap_by_nature_apart(
    kind: TaskType, task: dict[str, Any]
) -> None:
    """A person on a bicycle (box IoU 0.8): one worker drew the person, one the bicycle, one
    both. In one match group they would be one object with a split label; in groups of their
    own they are two objects, each drawn by two of the three workers."""
    person = {"label": "person", "type": "box", "left": 0, "top": 0, "width": 100, "height": 200}
    bike = {**person, "label": "bicycle", "top": 20}
    responses = [
        {"annotations": [person]},
        {"annotations": [bike]},
        {"annotations": [person, bike]},
    ]
    objects = [{"label": "person", "geometry": "box"}, {"label": "bicycle", "geometry": "box"}]
    shared = kind.validate_project_params({"objects": objects})
    together = _settle(kind, shared, task, responses, [None] * 3, at_max=True)
    assert len(together.response["annotations"]) == 1
    grouped = [{**objects[0], "match_group": "people"}, {**objects[1], "match_group": "vehicles"}]
    apart = kind.validate_project_params({"objects": grouped})
    assert apart["objects"][0]["match_group"] == "people"
    settled = _settle(kind, apart, task, responses, [None] * 3, at_max=True)
    assert sorted(a["label"] for a in settled.response["annotations"]) == ["bicycle", "person"]
    with pytest.raises(ParamsError) as excinfo:
        kind.validate_project_params({"objects": [{**objects[0], "match_group": ""}]})
    assert any(loc[-1] == "match_group" for loc, _ in excinfo.value.problems)
