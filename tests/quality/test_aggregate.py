from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import AggregationResult, DawidSkene, MajorityVote, aggregate

from ._crowd import answers, make_crowd


def test_aggregate_returns_a_typed_result() -> None:
    data, truth = make_crowd(n_tasks=150, seed=31)
    result = aggregate(data)
    assert isinstance(result, AggregationResult)
    assert result.labels.index.name == "task"
    assert result.confidence.between(0, 1).all()
    np.testing.assert_allclose(result.confidence, result.probas.max(axis=1))
    assert set(result.skills.index) == set(data["worker"])
    assert (result.labels == truth[result.labels.index]).mean() > 0.9
    assert result.method.startswith("dawid_skene")


def test_aggregate_does_not_overfit_occasional_workers() -> None:
    # 5 answers per task, every worker seen on two tasks only: full DS over-fits, aggregate not.
    rng = np.random.default_rng(32)
    truth = pd.Series(rng.integers(0, 4, 400))
    rows = [
        (t, f"w{j}_{t // 2}", z if rng.random() < 0.65 else (z + rng.integers(1, 4)) % 4)
        for t, z in truth.items()
        for j in range(5)
    ]
    data = answers(rows)
    robust = (aggregate(data).labels == truth).mean()
    plain = (DawidSkene().fit_predict(data) == truth).mean()
    vote = (MajorityVote().fit_predict(data) == truth).mean()
    assert robust >= vote - 0.01
    assert robust > plain


def test_aggregate_one_label_per_task_keeps_the_label() -> None:
    data = answers([("t1", "u", "a"), ("t2", "v", "b"), ("t3", "w", "c")])
    assert aggregate(data).labels.to_dict() == {"t1": "a", "t2": "b", "t3": "c"}


def test_aggregate_with_gold() -> None:
    data = answers([("t1", "a", "x"), ("t1", "b", "x"), ("t2", "a", "y"), ("t2", "b", "x")])
    result = aggregate(data, gold=pd.Series({"t1": "y"}))
    assert result.labels["t1"] == "y"
    assert result.confidence["t1"] == pytest.approx(1.0)
    assert result.method.startswith("gold_dawid_skene")


def test_aggregate_small_data_is_not_overconfident() -> None:
    # One vote against one vote: the answer cannot be near-certain.
    data = answers([("t1", "a", "x"), ("t1", "b", "y"), ("t2", "a", "x")])
    assert aggregate(data).confidence["t1"] < 0.999


def test_aggregate_empty() -> None:
    result = aggregate(answers([]))
    assert len(result.labels) == len(result.confidence) == len(result.skills) == 0
