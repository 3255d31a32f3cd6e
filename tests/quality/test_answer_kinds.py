"""Multi-label, ratings, pairwise, rankings, spans and boxes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import (
    aggregate_boxes,
    aggregate_multilabel,
    aggregate_pairwise,
    aggregate_rankings,
    aggregate_ratings,
    aggregate_spans,
    bradley_terry,
    iou_matrix,
)
from labelmill.quality.pairwise import vote_confidence

from ._crowd import answers


def test_multilabel_per_label_votes() -> None:
    data = answers(
        [
            ("t1", "a", ["x", "y"]),
            ("t1", "b", ["x"]),
            ("t1", "c", ("x", "y")),
            ("t2", "a", []),
            ("t2", "b", ["y"]),
            ("t2", "c", []),
        ]
    )
    result = aggregate_multilabel(data)
    assert result.labels.to_dict() == {"t1": frozenset({"x", "y"}), "t2": frozenset()}
    assert list(result.probas.columns) == ["x", "y"]
    assert result.confidence.between(0, 1).all()
    assert result.probas.loc["t1", "x"] > 0.9


def test_multilabel_fixed_universe_and_unanimous() -> None:
    data = answers([("t", w, ["x"]) for w in "abc"])
    result = aggregate_multilabel(data, labels=["x", "z"])
    assert result.labels["t"] == frozenset({"x"})
    assert result.probas.loc["t", "z"] < 0.5


def test_ratings_remove_worker_bias() -> None:
    # Harsh rates 2 below the truth, lenient 2 above; each task seen by a different pair.
    truth = {"t1": 3.0, "t2": 5.0, "t3": 7.0, "t4": 4.0}
    rows = []
    for i, (t, v) in enumerate(truth.items()):
        rows.append((t, "harsh", v - 2))
        rows.append((t, "lenient", v + 2))
        if i % 2:
            rows.append((t, "fair", v))
    result = aggregate_ratings(answers(rows), shrinkage=0.0)
    assert result.bias["harsh"] < 0 < result.bias["lenient"]
    assert result.bias["harsh"] == pytest.approx(-2.0, abs=1e-6)
    for t, v in truth.items():
        assert result.values[t] == pytest.approx(v, abs=1e-6)
    # An exact fit still leaves the prior's doubt: more agreeing ratings, more confidence.
    assert (result.stderr > 0).all()
    assert result.confidence.max() < 1.0
    assert result.confidence["t2"] > result.confidence["t1"]  # 3 raters vs 2
    assert result.confidence["t1"] == pytest.approx(result.confidence["t3"])


def test_ratings_single_rating_and_empty() -> None:
    one = aggregate_ratings(answers([("t", "w", 4)]))
    assert one.values["t"] == pytest.approx(4.0)
    empty = aggregate_ratings(answers([]))
    assert len(empty.values) == 0


def test_pairwise_weighted_vote_and_bradley_terry() -> None:
    data = pd.DataFrame(
        [
            ("w1", "A", "B", "A"),
            ("w2", "B", "A", "A"),
            ("w3", "A", "B", "B"),
            ("w1", "B", "C", "B"),
            ("w2", "B", "C", None),
        ],
        columns=["worker", "left", "right", "label"],
    )
    result = aggregate_pairwise(data)
    pairs = result.pairs.set_index(["left", "right"])
    assert pairs.loc[("A", "B"), "winner"] == "A"
    # 2 votes to 1: P(theta > 1/2) for Beta(3, 2) = P(Bin(4, 1/2) <= 2) = 11/16.
    assert pairs.loc[("A", "B"), "confidence"] == pytest.approx(11 / 16)
    assert pairs.loc[("B", "C"), "winner"] == "B"
    # A tie is half a vote each way: 1.5 for B, 0.5 for C.
    assert pairs.loc[("B", "C"), "confidence"] == pytest.approx(float(vote_confidence(1.5, 0.5)))
    assert 11 / 16 < pairs.loc[("B", "C"), "confidence"] < 7 / 8
    assert result.scores["A"] > result.scores["B"] > result.scores["C"]
    assert result.scores.sum() == pytest.approx(0.0, abs=1e-9)
    # w3 trusted much more than the others flips A-B.
    flipped = aggregate_pairwise(data, skills={"w3": 5.0})
    assert flipped.pairs.set_index(["left", "right"]).loc[("A", "B"), "winner"] == "B"


def test_pairwise_exact_tie() -> None:
    data = pd.DataFrame(
        [("w1", "A", "B", "A"), ("w2", "A", "B", "B")],
        columns=["worker", "left", "right", "label"],
    )
    result = aggregate_pairwise(data)
    assert result.pairs.loc[0, "winner"] is None
    assert result.pairs.loc[0, "confidence"] == pytest.approx(0.5)


def test_bradley_terry_recovers_strengths() -> None:
    rng = np.random.default_rng(41)
    strength = {"a": 1.0, "b": 0.0, "c": -1.0}
    winners, losers = [], []
    items = list(strength)
    for _ in range(3000):
        i, j = rng.choice(3, 2, replace=False)
        p = 1 / (1 + np.exp(-(strength[items[i]] - strength[items[j]])))
        w, lose = (items[i], items[j]) if rng.random() < p else (items[j], items[i])
        winners.append(w)
        losers.append(lose)
    scores = bradley_terry(pd.Series(winners), pd.Series(losers), l2=0.0)
    for item, s in strength.items():
        assert scores[item] == pytest.approx(s, abs=0.15)


def test_rankings_borda_and_kendalls_w() -> None:
    data = answers(
        [("t", "a", ["x", "y", "z"]), ("t", "b", ["x", "z", "y"]), ("t", "c", ["y", "x", "z"])]
    )
    result = aggregate_rankings(data)
    assert result.rankings["t"] == ["x", "y", "z"]
    # Rank sums 4, 6, 8: S = 8, W = 12 * 8 / (9 * 24).
    assert result.confidence["t"] == pytest.approx(96 / 216)
    same = aggregate_rankings(answers([("u", w, ["p", "q"]) for w in "ab"]))
    assert same.confidence["u"] == pytest.approx(1.0)


def test_rankings_partial_lists() -> None:
    data = answers([("t", "a", ["x", "y", "z"]), ("t", "b", ["z"])])
    result = aggregate_rankings(data)
    # Points: x 2 + 0.5, y 1 + 0.5, z 0 + 2.
    assert result.rankings["t"] == ["x", "z", "y"]


def test_spans_char_level_vote() -> None:
    data = answers(
        [
            ("t", "a", [(0, 5, "PER"), (10, 14, "LOC")]),
            ("t", "b", [(0, 5, "PER")]),
            ("t", "c", [(1, 5, "PER"), (10, 14, "ORG")]),
        ]
    )
    result = aggregate_spans(data)
    assert result.spans["t"] == [(0, 5, "PER")]
    # Character 0: 2 votes to 1 -> 11/16; characters 1-4: 3 to 0 -> 15/16; mean 71/80.
    assert result.span_confidence["t"][0] == pytest.approx(71 / 80)
    weighted = aggregate_spans(data, skills={"a": 3.0})
    assert (10, 14, "LOC") in weighted.spans["t"]


def test_spans_empty_answers() -> None:
    result = aggregate_spans(answers([("t", "a", []), ("t", "b", [])]))
    assert result.spans["t"] == []
    assert result.confidence["t"] == pytest.approx(7 / 8)  # two votes for "nothing here"


def test_iou_matrix() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0], [20.0, 20.0, 1.0, 1.0]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])


def test_boxes_match_and_average() -> None:
    data = answers(
        [
            ("i", "a", [[0, 0, 10, 10, "p"], [50, 50, 10, 10, "p"]]),
            ("i", "b", [[2, 0, 10, 10, "p"]]),
            ("i", "c", [[1, 0, 10, 10, "p"], [0, 0, 10, 10, "car"]]),
            ("j", "a", []),
            ("j", "b", []),
        ]
    )
    result = aggregate_boxes(data)
    assert result.boxes["i"] == [[1.0, 0.0, 10.0, 10.0, "p"]]
    assert result.box_confidence["i"] == [pytest.approx(15 / 16)]  # 3 of 3 workers
    assert result.boxes["j"] == []
    assert result.confidence["j"] == pytest.approx(7 / 8)  # 2 workers agree: empty
    # Two stray single-worker boxes were dropped, each right to drop with P(Beta(2, 3) < 1/2)
    # = 11/16: the image's confidence is 15/16 * 11/16.
    assert result.confidence["i"] == pytest.approx(15 / 16 * 11 / 16)
