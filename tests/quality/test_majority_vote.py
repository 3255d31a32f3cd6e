from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import MajorityVote, Wawa, ZeroBasedSkill

from ._crowd import answers, make_crowd


def test_majority_vote_hand_computed() -> None:
    data = answers(
        [("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y"), ("t2", "a", "y"), ("t2", "b", "z")]
    )
    mv = MajorityVote()
    assert mv.fit(data) is mv
    assert mv.labels_.to_dict() == {"t1": "x", "t2": "y"}  # t2 tie: first label in order
    assert mv.labels_.index.name == "task"
    probas = mv.probas_
    assert list(probas.columns) == ["x", "y", "z"]
    np.testing.assert_allclose(probas.loc["t1"].to_numpy(), [2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(probas.loc["t2"].to_numpy(), [0, 0.5, 0.5])
    # Skills: agreement with the result. a: 2/2, b: 1/2, c: 0/1.
    assert mv.skills_.to_dict() == {"a": 1.0, "b": 0.5, "c": 0.0}


def test_weighted_majority_vote_overrides_the_count() -> None:
    data = answers([("t", "expert", "x"), ("t", "n1", "y"), ("t", "n2", "y")])
    skills = pd.Series({"expert": 3.0, "n1": 1.0, "n2": 1.0})
    probas = MajorityVote().fit_predict_proba(data, skills)
    np.testing.assert_allclose(probas.loc["t"].to_numpy(), [0.6, 0.4])
    assert MajorityVote().fit_predict(data, skills)["t"] == "x"


def test_weighted_majority_vote_missing_skill() -> None:
    data = answers([("t", "a", "x"), ("t", "b", "y"), ("t", "c", "y")])
    skills = pd.Series({"a": 5.0})
    with pytest.raises(ValueError, match="no skill"):
        MajorityVote().fit(data, skills)
    labels = MajorityVote(default_skill=1.0).fit_predict(data, skills)
    assert labels["t"] == "x"  # 5 > 1 + 1


def test_wawa_downweights_the_contrarian() -> None:
    # w3 disagrees with the majority everywhere, so its vote barely counts on the tie task.
    rows = [(f"t{i}", w, "a") for i in range(4) for w in ("w1", "w2")]
    rows += [(f"t{i}", "w3", "b") for i in range(4)]
    rows += [("q", "w1", "a"), ("q", "w3", "b"), ("q", "w4", "b")]
    data = answers(rows)
    wawa = Wawa().fit(data)
    assert wawa.skills_["w3"] == pytest.approx(0.2)  # agrees with MV only on q (b, 2 vs 1)
    assert wawa.skills_["w1"] == pytest.approx(0.8)


def test_zero_based_skill_learns_who_is_right() -> None:
    data, truth = make_crowd(n_tasks=300, accuracies=[0.95, 0.9, 0.5, 0.4, 0.35], seed=1)
    zbs = ZeroBasedSkill().fit(data)
    assert zbs.skills_["w0"] > zbs.skills_["w4"]
    accuracy = (zbs.labels_ == truth[zbs.labels_.index]).mean()
    mv_accuracy = (MajorityVote().fit_predict(data) == truth[zbs.labels_.index]).mean()
    assert accuracy >= mv_accuracy


def test_vote_ties_go_to_the_first_label_in_sorted_order_whatever_the_row_order() -> None:
    # "y" is seen first, but a tie goes to the first label in sorted order: "x".
    rows = [("t1", "w1", "y"), ("t1", "w2", "x"), ("t2", "w1", "y"), ("t2", "w2", "y")]
    for data in (answers(rows), answers(rows[::-1])):
        assert MajorityVote().fit_predict(data)["t1"] == "x"
        # Wawa's first pass uses the same rule: on t1 only w2 agrees with the majority.
        assert Wawa().fit(data).skills_.to_dict() == {"w1": 0.5, "w2": 1.0}
