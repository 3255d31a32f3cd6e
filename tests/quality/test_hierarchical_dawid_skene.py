"""HierarchicalDawidSkene: sparse workers borrow their peers' confusion structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelmill.quality import DawidSkene, HierarchicalDawidSkene, aggregate

from ._crowd import answers, make_crowd


def _paired_crowd(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Four classes confused in pairs (c0<->c1, c2<->c3), as breeds of dog are.

    Three prolific workers (right 85% of the time, errors within the pair) and 300 occasional
    ones with 3 answers each (right 70%, errors within the pair): every occasional worker has
    fewer than K^2 = 16 answers.
    """
    rng = np.random.default_rng(seed)
    n_tasks = 600
    truth = rng.integers(0, 4, n_tasks)
    rows: list[tuple[object, object, object]] = []

    def answer(z: int, acc: float) -> str:
        return f"c{z if rng.random() < acc else z ^ 1}"

    for t in range(n_tasks):
        for w in range(3):
            rows.append((t, f"pro{w}", answer(int(truth[t]), 0.85)))
    for w in range(300):
        for t in rng.choice(n_tasks, 3, replace=False):
            rows.append((int(t), f"occ{w}", answer(int(truth[t]), 0.7)))
    return answers(rows), pd.Series([f"c{z}" for z in truth])


def test_sparse_workers_get_the_peers_error_structure() -> None:
    data, _ = _paired_crowd()
    model = HierarchicalDawidSkene().fit(data)
    errors = model.errors_
    occasional = [w for w in model.skills_.index if str(w).startswith("occ")]
    # P(say c1 | truth c0) far above P(say c2 | truth c0) for every occasional worker, although
    # none of them has more than three answers: the structure comes from the peers' prior.
    inside = np.array([errors.loc[(w, "c1"), "c0"] for w in occasional])
    across = np.array([errors.loc[(w, "c2"), "c0"] for w in occasional])
    assert (inside > 2 * across).all()
    # A one-coin matrix (what aggregate() gives such workers) spreads errors evenly instead.
    ds = DawidSkene(smoothing=0.1, prior_smoothing=1.0, one_coin_below="auto").fit(data)
    w = occasional[0]
    assert np.isclose(ds.errors_.loc[(w, "c1"), "c0"], ds.errors_.loc[(w, "c2"), "c0"])


def test_structure_makes_it_more_accurate_than_one_coin_on_paired_errors() -> None:
    data, truth = _paired_crowd(seed=1)
    hier = HierarchicalDawidSkene().fit_predict(data).sort_index()
    robust = aggregate(data).labels.sort_index()
    hier_acc = float((hier.to_numpy() == truth.to_numpy()).mean())
    robust_acc = float((robust.to_numpy() == truth.to_numpy()).mean())
    assert hier_acc > robust_acc


def test_the_prior_comes_from_the_sparse_peers_not_from_prolific_workers() -> None:
    # Five prolific workers are nearly always right; forty occasional ones are right half of
    # the time (binary, so K^2 = 4 answers is the line; they have 3 each).
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 400)
    rows: list[tuple[object, object, object]] = []
    for t, z in enumerate(truth):
        for w in range(5):
            rows.append((t, f"pro{w}", int(z if rng.random() < 0.95 else 1 - z)))
    for w in range(40):
        for t in rng.choice(400, 3, replace=False):
            rows.append((int(t), f"occ{w}", int(truth[t] if rng.random() < 0.5 else 1 - truth[t])))
    data = answers(rows)
    skills = HierarchicalDawidSkene().fit(data).skills_
    occasional = skills[[str(w).startswith("occ") for w in skills.index]]
    prolific = skills[[str(w).startswith("pro") for w in skills.index]]
    assert prolific.min() > 0.9
    # Near their peers' 0.5 (a prior pooled over all answers would pull them towards 0.9).
    assert abs(float(occasional.mean()) - 0.5) < 0.1


def test_without_sparse_workers_it_is_smoothed_dawid_skene() -> None:
    data, _ = make_crowd(n_tasks=150, n_classes=3, seed=4)
    # Every worker of make_crowd has far more than K^2 = 9 answers.
    hier = HierarchicalDawidSkene().fit(data)
    plain = DawidSkene(smoothing=0.1, prior_smoothing=1.0).fit(data)
    pd.testing.assert_frame_equal(hier.probas_, plain.probas_)
    pd.testing.assert_frame_equal(hier.errors_, plain.errors_)


def test_prior_strength_zero_and_no_smoothing_is_maximum_likelihood() -> None:
    data, _ = make_crowd(n_tasks=60, per_task=3, n_classes=3, seed=5)
    hier = HierarchicalDawidSkene(
        smoothing=0.0, prior_smoothing=0.0, sparse_below=10**9, prior_strength=0.0
    ).fit(data)
    plain = DawidSkene().fit(data)
    pd.testing.assert_frame_equal(hier.probas_, plain.probas_)
