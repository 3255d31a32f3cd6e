from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import (
    MajorityVote,
    cohens_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
    wilson_interval,
    worker_accuracy,
)

from ._crowd import answers


def _from_counts(table: list[list[int]]) -> pd.DataFrame:
    """Long answers from a (subjects x categories) table of rater counts."""
    rows = []
    for subject, counts in enumerate(table):
        rater = 0
        for category, n in enumerate(counts):
            for _ in range(n):
                rows.append((subject, rater, category + 1))
                rater += 1
    return answers(rows)


# Fleiss (1971)-style worked example, as in Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_worked_example() -> None:
    data = _from_counts(FLEISS_TABLE)
    assert percent_agreement(data) == pytest.approx(0.378, abs=5e-4)
    assert fleiss_kappa(data) == pytest.approx(0.210, abs=5e-4)


def test_percent_agreement_hand_computed() -> None:
    data = answers([("t1", "a", 1), ("t1", "b", 1), ("t1", "c", 2), ("t2", "a", 1), ("t3", "a", 3)])
    # Only t1 has pairs: 1 agreeing pair of 3.
    assert percent_agreement(data) == pytest.approx(1 / 3)


def test_agreement_undefined_cases() -> None:
    assert math.isnan(percent_agreement(answers([("t", "a", 1)])))
    assert math.isnan(fleiss_kappa(answers([])))
    assert math.isnan(fleiss_kappa(answers([("t", "a", 1), ("t", "b", 1)])))  # one class only


def test_cohens_kappa_worked_example() -> None:
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15 -> p_o .7, p_e .5.
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)
    assert cohens_kappa(a, a) == pytest.approx(1.0)
    assert math.isnan(cohens_kappa([], []))
    with pytest.raises(ValueError):
        cohens_kappa(["a"], [])


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers,
# 12 units, values 1-5, with missing data (None).
RELIABILITY = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def _reliability_data() -> pd.DataFrame:
    rows = [
        (unit, observer, value)
        for observer, values in RELIABILITY.items()
        for unit, value in enumerate(values)
        if value is not None
    ]
    return answers(rows)


@pytest.mark.parametrize(
    ("level", "expected"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_textbook(level: str, expected: float) -> None:
    alpha = krippendorff_alpha(_reliability_data(), level=level)  # type: ignore[arg-type]
    assert alpha == pytest.approx(expected, abs=5e-4)


def test_krippendorff_alpha_binary_textbook() -> None:
    # Same paper, section A: two observers, ten units, alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    data = answers([(i, "A", x) for i, x in enumerate(a)] + [(i, "B", x) for i, x in enumerate(b)])
    assert krippendorff_alpha(data) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_alpha_edges() -> None:
    perfect = answers([(u, w, u % 3) for u in range(6) for w in ("a", "b")])
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha(answers([(1, "a", 1), (2, "a", 2)])))  # no pairs
    assert math.isnan(krippendorff_alpha(answers([(1, "a", 1), (1, "b", 1)])))  # no variation
    with pytest.raises(ValueError):
        krippendorff_alpha(perfect, level="cubic")  # type: ignore[arg-type]


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(np.array([5.0, 0.0, 0.0]), np.array([10.0, 10.0, 0.0]))
    np.testing.assert_allclose(low, [0.2366, 0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(high, [0.7634, 0.2775, 1.0], atol=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(np.array([1.0]), np.array([2.0]), confidence=1.0)


def test_worker_accuracy_against_gold() -> None:
    data = answers(
        [("t1", "a", "x"), ("t2", "a", "y"), ("t1", "b", "y"), ("t3", "b", "x"), ("t4", "c", "x")]
    )
    gold = pd.Series({"t1": "x", "t2": "y", "t3": "y"})
    table = worker_accuracy(data, gold)
    assert table.index.name == "worker"
    assert table.loc["a", "accuracy"] == 1.0 and table.loc["a", "n"] == 2
    assert table.loc["b", "accuracy"] == 0.0 and table.loc["b", "correct"] == 0
    assert table.loc["c", "n"] == 0 and math.isnan(table.loc["c", "accuracy"])
    assert (table["ci_low"] <= table["ci_high"]).all()
    assert table.loc["a", "ci_low"] < 1.0 < table.loc["a", "ci_high"] + 1e-12


def test_worker_accuracy_against_the_aggregate() -> None:
    """Scored against the majority vote: on t1 (x, x, y) and t2 (y, y, x) the odd one out is
    wrong; t3 (a tie, x before y in sorted order) counts for whoever said x."""
    rows = [("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y")]
    rows += [("t2", "a", "y"), ("t2", "b", "x"), ("t2", "c", "y")]
    rows += [("t3", "a", "y"), ("t3", "c", "x")]
    data = answers(rows)
    aggregate = MajorityVote().fit_predict(data)
    table = worker_accuracy(data, aggregate)
    assert table[["n", "correct"]].to_dict("index") == {
        "a": {"n": 3, "correct": 2},
        "b": {"n": 2, "correct": 1},
        "c": {"n": 3, "correct": 2},
    }
    low, high = wilson_interval(np.array([2.0]), np.array([3.0]))
    assert table.loc["a", "ci_low"] == pytest.approx(low[0])
    assert table.loc["a", "ci_high"] == pytest.approx(high[0])
