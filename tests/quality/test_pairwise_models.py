"""Per-pair Bradley-Terry probabilities (``bt_probability`` and ``aggregate_pairwise``).

Crowd-BT tests belong here too (the parallel session that owns crowd_bt.py adds them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import aggregate_pairwise, bradley_terry, bt_probability


def test_pair_probabilities_and_any_pair() -> None:
    data = pd.DataFrame(
        {
            "worker": ["a", "b", "c", "a", "b"],
            "left": ["x", "x", "x", "y", "y"],
            "right": ["y", "y", "y", "z", "z"],
            "label": ["x", "x", "y", "y", "y"],
        }
    )
    result = aggregate_pairwise(data)
    p = result.pairs.set_index(["left", "right"])["bt_probability"]
    s = result.scores
    assert p[("x", "y")] == pytest.approx(1 / (1 + np.exp(-(s["x"] - s["y"]))))
    assert p[("x", "y")] > 0.5 and p[("y", "z")] > 0.5
    # x beat y 2-1 and y beat z 2-0: the transitive pair x-z is surer than either.
    assert bt_probability(s, "x", "z")[0] > max(p[("x", "y")], p[("y", "z")])
    # Reversed order gives the complement; an item never seen counts as the mean strength 0.
    assert bt_probability(s, ["z"], ["x"])[0] == pytest.approx(1 - bt_probability(s, "x", "z")[0])
    assert bt_probability(s, "x", "never-seen")[0] == pytest.approx(1 / (1 + np.exp(-s["x"])))
    with pytest.raises(ValueError, match="right"):
        bt_probability(s, ["x", "y"], ["z"])


def test_bt_probability_ranks_pairs_the_vote_cannot() -> None:
    # Two pairs with the same 1-1 vote; a third comparison makes one of them one-sided in BT.
    data = pd.DataFrame(
        {
            "worker": ["a", "b", "a", "b", "c"],
            "left": ["p", "p", "q", "q", "r"],
            "right": ["r", "r", "s", "s", "p"],
            "label": ["p", "r", "q", "s", "p"],
        }
    )
    pairs = aggregate_pairwise(data).pairs
    keys = zip(pairs["left"], pairs["right"], strict=True)
    prob = dict(zip(keys, pairs["bt_probability"], strict=True))
    assert prob[("q", "s")] == pytest.approx(0.5, abs=1e-6)
    assert prob[("p", "r")] > 0.6  # p also won a third comparison


def test_bradley_terry_probabilities_sum_to_one() -> None:
    scores = bradley_terry(pd.Series(["x", "x", "y"]), pd.Series(["y", "z", "z"]))
    forward = bt_probability(scores, ["x", "y", "x"], ["y", "z", "z"])
    backward = bt_probability(scores, ["y", "z", "z"], ["x", "y", "x"])
    np.testing.assert_allclose(forward + backward, 1.0)
    assert (forward > 0.5).all()


def test_empty_input_has_the_column() -> None:
    empty = pd.DataFrame({"worker": [], "left": [], "right": [], "label": []})
    assert "bt_probability" in aggregate_pairwise(empty).pairs.columns
