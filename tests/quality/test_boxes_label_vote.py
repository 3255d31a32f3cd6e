"""aggregate_boxes matches boxes across labels and votes on the label.

Two workers who draw the same object and call it ``car`` and ``truck`` draw one object: the
cluster counts both for the keep-or-drop decision and its label is their weighted vote. Hand
values use P(theta > 1/2) for theta ~ Beta(1 + a, 1 + b): 3/4, 7/8, 15/16 for 1, 2, 3
agreeing votes, 11/16 for 2 to 1, 5/16 for 1 to 2.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from labelmill.quality import aggregate_boxes, iou_matrix
from labelmill.quality.pairwise import vote_confidence

from ._crowd import answers

BOX = [0, 0, 10, 10]


def _one_object(*labels: str) -> pd.DataFrame:
    """One image, worker ``w0``, ``w1``, ... each drawing ``BOX`` (slightly shifted) with
    the given label."""
    return answers([("i", f"w{k}", [[k, 0, 10, 10, lab]]) for k, lab in enumerate(labels)])


def test_two_to_one_label_split_is_one_box_with_the_majority_label() -> None:
    result = aggregate_boxes(_one_object("car", "car", "truck"))
    assert result.boxes["i"] == [[1.0, 0.0, 10.0, 10.0, "car"]]  # all three boxes averaged
    # Three of three drew it (15/16), two of three say car (11/16).
    assert result.box_confidence["i"] == [pytest.approx(15 / 16 * 11 / 16)]
    assert result.confidence["i"] == pytest.approx(15 / 16 * 11 / 16)  # nothing dropped
    assert result.label_share["i"] == [pytest.approx(2 / 3)]


def test_three_labels_on_one_object_still_give_one_box() -> None:
    """car / truck / bus: the object is there (three of three drew it); the weighted vote is
    a three-way tie, which goes to the first label in sorted order."""
    result = aggregate_boxes(_one_object("car", "truck", "bus"))
    assert result.boxes["i"] == [[1.0, 0.0, 10.0, 10.0, "bus"]]
    assert result.box_confidence["i"] == [pytest.approx(15 / 16 * 5 / 16)]
    assert result.label_share["i"] == [pytest.approx(1 / 3)]
    # Per-label matching finds no object at all: each label has one worker of three.
    assert (
        aggregate_boxes(_one_object("car", "truck", "bus"), match_across_labels=False).boxes["i"]
        == []
    )


def test_tie_rule_does_not_depend_on_which_worker_gave_which_label() -> None:
    for labels in itertools.permutations(["car", "truck", "bus"]):
        result = aggregate_boxes(_one_object(*labels))
        assert [b[4] for b in result.boxes["i"]] == ["bus"]
        assert result.box_confidence["i"] == [pytest.approx(15 / 16 * 5 / 16)]


def test_worker_weights_decide_the_label() -> None:
    data = _one_object("car", "car", "truck")
    assert aggregate_boxes(data, skills={"w2": 1.5}).boxes["i"][0][4] == "car"
    heavy = aggregate_boxes(data, skills={"w2": 3.0})
    assert heavy.boxes["i"][0][4] == "truck"
    # Weights average the box too: (0 + 1 + 3 * 2) / 5.
    assert heavy.boxes["i"][0][:4] == [pytest.approx(7 / 5), 0.0, 10.0, 10.0]
    assert heavy.label_share["i"] == [pytest.approx(3 / 5)]
    assert heavy.box_confidence["i"] == [
        pytest.approx(float(vote_confidence(5, 0)) * float(vote_confidence(3, 2)))
    ]
    # Equal weights behind two labels: a tie, the first label in sorted order.
    tie = aggregate_boxes(_one_object("truck", "car"), skills={"w0": 0.7, "w1": 0.7})
    assert tie.boxes["i"][0][4] == "car"
    assert tie.box_confidence["i"] == [pytest.approx(float(vote_confidence(1.4, 0)) * 0.5)]


def test_different_objects_far_apart_stay_two_boxes() -> None:
    data = answers(
        [
            ("i", "a", [[0, 0, 10, 10, "car"], [100, 100, 10, 10, "truck"]]),
            ("i", "b", [[1, 0, 10, 10, "car"], [101, 100, 10, 10, "truck"]]),
        ]
    )
    for across in (True, False):
        result = aggregate_boxes(data, match_across_labels=across)
        assert result.boxes["i"] == [
            [0.5, 0.0, 10.0, 10.0, "car"],
            [100.5, 100.0, 10.0, 10.0, "truck"],
        ]
        assert result.box_confidence["i"] == [pytest.approx(7 / 8)] * 2


def test_a_box_goes_to_the_cluster_of_its_own_label_among_equal_matches() -> None:
    """Worker b drew a bicycle and a person exactly where a drew a person: both of b's boxes
    match a's cluster equally well, and the person joins it (not the bicycle, which sorts
    first)."""
    data = answers(
        [
            ("i", "a", [[*BOX, "person"]]),
            ("i", "b", [[*BOX, "bicycle"], [*BOX, "person"]]),
            ("i", "c", [[*BOX, "person"]]),
        ]
    )
    result = aggregate_boxes(data)
    assert result.boxes["i"] == [[0.0, 0.0, 10.0, 10.0, "person"]]
    assert result.label_share["i"] == [1.0]
    assert result.box_confidence["i"] == [pytest.approx(15 / 16)]
    # The bicycle (one worker of three) is a dropped cluster: 15/16 * P(Beta(2, 3) < 1/2).
    assert result.confidence["i"] == pytest.approx(15 / 16 * 11 / 16)


def test_overlapping_objects_of_different_classes_need_matching_off() -> None:
    """A person on a bicycle: their boxes overlap (IoU 0.8). One worker drew only the person,
    one only the bicycle, one both. Matched across labels, the two single drawings are one
    object with a split label; matched per label, two objects, each drawn by two of three."""
    person, bike = [0, 0, 10, 20, "person"], [0, 2, 10, 20, "bicycle"]
    data = answers([("i", "a", [person]), ("i", "b", [bike]), ("i", "c", [person, bike])])
    across = aggregate_boxes(data)
    assert len(across.boxes["i"]) == 1 and across.label_share["i"] == [pytest.approx(2 / 3)]
    apart = aggregate_boxes(data, match_across_labels=False)
    assert sorted(b[4] for b in apart.boxes["i"]) == ["bicycle", "person"]
    assert apart.box_confidence["i"] == [pytest.approx(11 / 16)] * 2
    assert apart.label_share["i"] == [1.0, 1.0]
    # Groups: person and bicycle in groups of their own, vehicles voted among themselves.
    groups = {"car": "vehicle", "truck": "vehicle"}
    assert aggregate_boxes(data, match_across_labels=groups).boxes["i"] == apart.boxes["i"]
    vehicles = _one_object("car", "car", "truck")
    grouped = aggregate_boxes(vehicles, match_across_labels=groups)
    assert grouped.boxes["i"] == aggregate_boxes(vehicles).boxes["i"]


def test_unlabelled_boxes_vote_with_labelled_ones() -> None:
    data = answers([("i", "a", [BOX]), ("i", "b", [[*BOX, "car"]]), ("i", "c", [[*BOX, "car"]])])
    result = aggregate_boxes(data)
    assert result.boxes["i"] == [[0.0, 0.0, 10.0, 10.0, "car"]]
    # A tie between None and a label (they do not compare) is broken by repr: "'car'" < "None".
    tie = aggregate_boxes(answers([("i", "a", [BOX]), ("i", "b", [[*BOX, "car"]])]))
    assert tie.boxes["i"] == [[0.0, 0.0, 10.0, 10.0, "car"]]


# --------------------------------------------------------------------------------------------
# Matching off is the former per-label matching; results never depend on the order


def _per_label_reference(
    data: pd.DataFrame, skills: Mapping[Hashable, float] | None
) -> dict[Any, tuple[list[list[Any]], list[float], float]]:
    """The per-label aggregation ``aggregate_boxes`` did before it matched across labels
    (boxes match only boxes of their label), written out independently."""
    out: dict[Any, tuple[list[list[Any]], list[float], float]] = {}
    for task, group in data.groupby("task", sort=False):
        rows = sorted(
            (
                repr(worker),
                [_key(b) for b in boxes],
                1.0 if skills is None else float(skills.get(worker, 1.0)),
                boxes,
            )
            for worker, answer in zip(group["worker"], group["label"], strict=True)
            for boxes in [sorted((list(b) for b in answer), key=_key)]
        )
        total = sum(r[2] for r in rows)
        clusters: list[tuple[Any, list[tuple[float, np.ndarray]]]] = []
        for _, _, w, boxes in rows:
            if not boxes:
                continue
            coords = np.array([[float(v) for v in b[:4]] for b in boxes])
            matched = set()
            if clusters:
                iou = iou_matrix(coords, np.array([_mean(m) for _, m in clusters]))
                same = np.array([[b[4] == k for k, _ in clusters] for b in boxes])
                score = np.where(same & (iou >= 0.5), iou, 0.0)
                for r, c in zip(*linear_sum_assignment(-score), strict=True):
                    if score[r, c] > 0:
                        clusters[c][1].append((w, coords[r]))
                        matched.add(int(r))
            clusters += [(b[4], [(w, coords[r])]) for r, b in enumerate(boxes) if r not in matched]
        kept, kept_conf, dropped = [], [], []
        for label, members in clusters:
            drew = sum(m[0] for m in members)
            conf = float(vote_confidence(drew, total - drew))
            if drew / total >= 0.5:
                kept.append([*(float(v) for v in _mean(members)), label])
                kept_conf.append(conf)
            else:
                dropped.append(1.0 - conf)
        if not clusters:
            dropped.append(1.0 - float(vote_confidence(0.0, total)))
        confidence = (np.mean(kept_conf) if kept_conf else 1.0) * (
            np.mean(dropped) if dropped else 1.0
        )
        out[task] = kept, kept_conf, float(confidence)
    return out


def _key(box: list[Any]) -> tuple[Any, ...]:
    return (*(float(v) for v in box[:4]), repr(box[4]))


def _mean(members: list[tuple[float, np.ndarray]]) -> np.ndarray:
    weights = np.array([m[0] for m in members])
    boxes = np.stack([m[1] for m in members])
    result: np.ndarray = (weights[:, None] * boxes).sum(axis=0) / weights.sum()
    return result


_coord = st.integers(0, 6).map(lambda v: 4 * v)
_box = st.tuples(_coord, _coord, st.integers(6, 14), st.integers(6, 14), st.sampled_from("pqr"))
_answer = st.lists(_box.map(list), max_size=3)
_task = st.lists(_answer, min_size=1, max_size=5)
_SKILLS: dict[Hashable, float] = {f"w{w}": 0.5 + 0.25 * w for w in range(5)}


def _rows(tasks: list[list[list[list[Any]]]]) -> list[tuple[object, object, object]]:
    return [
        (f"t{t}", f"w{w}", answer) for t, task in enumerate(tasks) for w, answer in enumerate(task)
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=st.lists(_task, min_size=1, max_size=3))
def test_matching_off_is_the_per_label_matching(tasks: list[list[list[list[Any]]]]) -> None:
    data = answers(_rows(tasks))
    for skills in (None, _SKILLS):
        result = aggregate_boxes(data, skills=skills, match_across_labels=False)
        for task, (boxes, box_conf, conf) in _per_label_reference(data, skills).items():
            assert result.boxes[task] == [[*(pytest.approx(v) for v in b[:4]), b[4]] for b in boxes]
            assert result.box_confidence[task] == pytest.approx(box_conf)
            assert result.confidence[task] == pytest.approx(conf)
            assert result.label_share[task] == [1.0] * len(boxes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=st.lists(_task, min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_label_vote_does_not_depend_on_row_or_box_order(
    tasks: list[list[list[list[Any]]]], seed: int
) -> None:
    data = answers(_rows(tasks))
    rng = np.random.default_rng(seed)
    shuffled = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    shuffled["label"] = [
        [answer[i] for i in rng.permutation(len(answer))] for answer in shuffled["label"]
    ]
    for across in (True, False, {"p": "g", "q": "g"}):
        for skills in (None, _SKILLS):
            base = aggregate_boxes(data, skills=skills, match_across_labels=across)
            other = aggregate_boxes(shuffled, skills=skills, match_across_labels=across)
            for task in base.boxes.index:
                assert other.boxes[task] == base.boxes[task]
                assert other.box_confidence[task] == base.box_confidence[task]
                assert other.label_share[task] == base.label_share[task]
                assert other.confidence[task] == base.confidence[task]
                assert 0.0 <= base.confidence[task] <= 1.0
                assert all(0.0 < s <= 1.0 for s in base.label_share[task])
