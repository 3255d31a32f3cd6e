"""Confidences of spans, ratings, pairwise and boxes account for the amount of evidence.

A single label must not look certain (a stopping rule for dynamic overlap would stop after it):
one label < two agreeing < three agreeing, and disagreement lowers the confidence. Hand values
use P(theta > 1/2) for theta ~ Beta(1 + a, 1 + b), which for whole votes is
P(Bin(a + b + 1, 1/2) <= a): 3/4, 7/8, 15/16 for 1, 2, 3 agreeing votes, 11/16 for 2 to 1.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelmill.quality import (
    aggregate_boxes,
    aggregate_pairwise,
    aggregate_ratings,
    aggregate_spans,
)
from labelmill.quality.pairwise import vote_confidence

from ._crowd import answers

# --------------------------------------------------------------------------------------------
# the shared vote posterior


@pytest.mark.parametrize(
    ("votes_for", "votes_against", "expected"),
    [(1, 0, 3 / 4), (2, 0, 7 / 8), (3, 0, 15 / 16), (2, 1, 11 / 16), (1, 1, 1 / 2), (0, 0, 1 / 2)],
)
def test_vote_confidence_hand_values(votes_for: int, votes_against: int, expected: float) -> None:
    assert float(vote_confidence(votes_for, votes_against)) == pytest.approx(expected)


def test_vote_confidence_threshold_and_range() -> None:
    # Beta(2, 1): P(theta > t) = 1 - t^2.
    assert float(vote_confidence(1, 0, threshold=0.3)) == pytest.approx(1 - 0.3**2)
    grid = np.linspace(0, 20, 41)
    conf = vote_confidence(grid[:, None], grid[None, :])
    assert ((conf >= 0) & (conf <= 1)).all()
    assert (np.diff(conf, axis=0) >= 0).all()  # more votes for: more confident
    assert (np.diff(conf, axis=1) <= 0).all()  # more votes against: less confident


# --------------------------------------------------------------------------------------------
# pairwise


def _pairs(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])


def test_pairwise_confidence_grows_with_agreeing_votes() -> None:
    data = _pairs(
        [
            ("w1", "a", "b", "a"),
            ("w1", "c", "d", "c"),
            ("w2", "c", "d", "c"),
            ("w1", "e", "f", "e"),
            ("w2", "e", "f", "e"),
            ("w3", "e", "f", "e"),
            ("w1", "g", "h", "g"),
            ("w2", "g", "h", "g"),
            ("w3", "g", "h", "h"),
        ]
    )
    conf = aggregate_pairwise(data).pairs.set_index("left")["confidence"]
    assert conf["a"] == pytest.approx(3 / 4)
    assert conf["c"] == pytest.approx(7 / 8)
    assert conf["e"] == pytest.approx(15 / 16)
    assert conf["g"] == pytest.approx(11 / 16)  # disagreement lowers it
    assert conf["g"] < conf["c"] < conf["e"]


def test_pairwise_skills_are_evidence() -> None:
    data = _pairs([("w1", "a", "b", "a")])
    plain = aggregate_pairwise(data).pairs["confidence"][0]
    trusted = aggregate_pairwise(data, skills={"w1": 3.0}).pairs["confidence"][0]
    doubted = aggregate_pairwise(data, skills={"w1": 0.5}).pairs["confidence"][0]
    assert trusted == pytest.approx(15 / 16)  # weight 3 counts as three votes
    assert 0.5 < doubted < plain < trusted


def test_pairwise_empty_input() -> None:
    result = aggregate_pairwise(_pairs([]))
    assert result.pairs.empty
    assert result.scores.empty


# --------------------------------------------------------------------------------------------
# spans


def test_spans_confidence_grows_with_agreeing_labels() -> None:
    span = [(0, 4, "PER")]
    data = answers(
        [
            ("one", "a", span),
            ("two", "a", span),
            ("two", "b", span),
            ("three", "a", span),
            ("three", "b", span),
            ("three", "c", span),
            ("split", "a", span),
            ("split", "b", span),
            ("split", "c", []),
        ]
    )
    result = aggregate_spans(data)
    conf = result.confidence
    assert conf["one"] == pytest.approx(3 / 4)
    assert conf["two"] == pytest.approx(7 / 8)
    assert conf["three"] == pytest.approx(15 / 16)
    assert conf["split"] == pytest.approx(11 / 16)
    assert conf["split"] < conf["two"]
    assert result.span_confidence["one"] == [pytest.approx(3 / 4)]


def test_spans_skills_and_edges() -> None:
    one = answers([("t", "a", [(0, 3, "LOC")])])
    assert aggregate_spans(one, skills={"a": 0.5}).confidence["t"] < 3 / 4
    assert aggregate_spans(answers([("t", "a", [])])).confidence["t"] == pytest.approx(3 / 4)
    empty = aggregate_spans(answers([]))
    assert empty.spans.empty and empty.confidence.empty


# --------------------------------------------------------------------------------------------
# ratings


def _single_task(ratings: list[float]) -> float:
    data = answers([("t", f"w{i}", r) for i, r in enumerate(ratings)])
    return float(aggregate_ratings(data).confidence["t"])


def test_ratings_hand_values() -> None:
    # All ratings equal: scale falls back to 1, S_t = 0, stderr = sqrt(2 / (1 + n)) / sqrt(n).
    assert _single_task([5.0]) == pytest.approx(1 / 2)
    assert _single_task([5.0, 5.0]) == pytest.approx(1 / (1 + 1 / math.sqrt(3)))
    assert _single_task([5.0, 5.0, 5.0]) == pytest.approx(1 / (1 + 1 / math.sqrt(6)))


def test_ratings_confidence_ordering() -> None:
    rows: list[tuple[object, object, object]] = [("one", "w1", 50.0)]
    rows += [("two", w, 50.0) for w in ("w1", "w2")]
    rows += [("three", w, 50.0) for w in ("w1", "w2", "w3")]
    rows += [("apart", "w1", 10.0), ("apart", "w2", 90.0)]
    result = aggregate_ratings(answers(rows))
    conf = result.confidence
    assert ((conf > 0) & (conf < 1)).all()
    assert conf["one"] < conf["two"] < conf["three"]
    assert conf["apart"] < conf["two"]  # disagreement lowers it
    assert conf["one"] == pytest.approx(1 / 2)  # stderr = the spread of all ratings
    assert (result.stderr > 0).all()


def test_ratings_empty_input() -> None:
    result = aggregate_ratings(answers([]))
    assert result.confidence.empty and result.stderr.empty


# --------------------------------------------------------------------------------------------
# boxes


def test_boxes_confidence_grows_with_agreeing_workers() -> None:
    box = [[0, 0, 10, 10, "p"]]
    data = answers(
        [
            ("one", "a", box),
            ("two", "a", box),
            ("two", "b", box),
            ("three", "a", box),
            ("three", "b", box),
            ("three", "c", box),
            ("split", "a", box),
            ("split", "b", box),
            ("split", "c", []),
            ("nothing", "a", []),
        ]
    )
    result = aggregate_boxes(data)
    conf = result.confidence
    assert conf["one"] == pytest.approx(3 / 4)
    assert conf["two"] == pytest.approx(7 / 8)
    assert conf["three"] == pytest.approx(15 / 16)
    assert conf["split"] == pytest.approx(11 / 16)  # the box is kept, 2 workers to 1
    assert conf["nothing"] == pytest.approx(3 / 4)  # one worker saw no object
    assert result.box_confidence["one"] == [pytest.approx(3 / 4)]
    assert result.box_confidence["three"] == [pytest.approx(15 / 16)]


def test_boxes_skills_and_empty_input() -> None:
    data = answers([("i", "a", [[0, 0, 10, 10, "p"]])])
    assert aggregate_boxes(data, skills={"a": 2.0}).confidence["i"] == pytest.approx(7 / 8)
    empty = aggregate_boxes(answers([]))
    assert empty.boxes.empty and empty.confidence.empty


_coord = st.integers(0, 6).map(lambda v: 4 * v)
_box = st.tuples(_coord, _coord, st.integers(6, 14), st.integers(6, 14), st.sampled_from("pq"))
_answer = st.lists(_box.map(list), max_size=3)
_task = st.lists(_answer, min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=st.lists(_task, min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_boxes_do_not_depend_on_row_or_box_order(
    tasks: list[list[list[list[Any]]]], seed: int
) -> None:
    rows: list[tuple[object, object, object]] = [
        (f"t{t}", f"w{w}", answer) for t, task in enumerate(tasks) for w, answer in enumerate(task)
    ]
    data = answers(rows)
    rng = np.random.default_rng(seed)
    shuffled = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    shuffled["label"] = [
        [answer[i] for i in rng.permutation(len(answer))] for answer in shuffled["label"]
    ]
    skills: dict[Hashable, float] = {f"w{w}": 0.5 + 0.25 * w for w in range(5)}
    for weights in (None, skills):
        base = aggregate_boxes(data, skills=weights)
        other = aggregate_boxes(shuffled, skills=weights)
        for task in base.boxes.index:
            assert other.boxes[task] == base.boxes[task]
            assert other.box_confidence[task] == base.box_confidence[task]
            assert other.confidence[task] == base.confidence[task]
            assert 0.0 <= base.confidence[task] <= 1.0
