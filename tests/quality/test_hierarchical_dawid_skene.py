"""HierarchicalDawidSkene: sparse workers are their peers' matrix tilted by one skill each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelmill.quality import DawidSkene, HierarchicalDawidSkene
from labelmill.quality.hierarchical_dawid_skene import _tilted_peers

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
    # The one-coin fallback: one accuracy per sparse worker, errors spread evenly.
    one_coin = DawidSkene(smoothing=0.1, prior_smoothing=1.0, one_coin_below="auto")
    robust = one_coin.fit_predict(data).sort_index()
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


def test_no_sparse_workers_and_no_smoothing_is_maximum_likelihood() -> None:
    data, _ = make_crowd(n_tasks=60, per_task=3, n_classes=3, seed=5)
    hier = HierarchicalDawidSkene(smoothing=0.0, prior_smoothing=0.0, sparse_below=0).fit(data)
    plain = DawidSkene().fit(data)
    pd.testing.assert_frame_equal(hier.probas_, plain.probas_)


def test_a_random_sparse_worker_is_told_apart_from_a_good_one() -> None:
    # Binary tasks, five regular workers right 85% of the time; 200 occasional workers with 3
    # answers each (K^2 = 4 is the line), half of them right 95% of the time, half at random.
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 2, 300)
    rows: list[tuple[object, object, object]] = []
    for t, z in enumerate(truth):
        for w in range(5):
            rows.append((t, f"reg{w}", int(z if rng.random() < 0.85 else 1 - z)))
    for w in range(200):
        acc = 0.95 if w % 2 == 0 else 0.5
        for t in rng.choice(300, 3, replace=False):
            rows.append((int(t), f"occ{w}", int(truth[t] if rng.random() < acc else 1 - truth[t])))
    skills = HierarchicalDawidSkene().fit(answers(rows)).skills_
    good = skills[[f"occ{w}" for w in range(0, 200, 2)]]
    random = skills[[f"occ{w}" for w in range(1, 200, 2)]]
    # One skill per worker: three answers already separate the groups on average.
    assert float(good.mean()) > float(random.mean()) + 0.1


def test_the_skill_is_the_stationary_point_of_its_objective() -> None:
    # d/d theta [theta C - sum_k N_k log(1 + e_kk (e^theta - 1))] = 0, i.e. the expected number
    # of right answers under the tilted matrix equals the (pseudo-)counted one.
    rng = np.random.default_rng(7)
    counts = rng.gamma(0.5, 1.0, (12, 3, 3))
    priors = np.array([0.5, 0.3, 0.2])
    tilted = _tilted_peers(counts, priors, 0.1, 9.0)
    np.testing.assert_allclose(tilted.sum(axis=1), 1.0)
    peers = counts.sum(axis=0) + 0.1
    peers /= peers.sum(axis=0, keepdims=True)
    pseudo = 9.0 * peers * priors[None, :]
    right = np.trace(counts, axis1=1, axis2=2) + np.trace(pseudo)
    per_class = counts.sum(axis=1) + pseudo.sum(axis=0)
    expected = (per_class * np.diagonal(tilted, axis1=1, axis2=2)).sum(axis=1)
    np.testing.assert_allclose(expected, right, rtol=1e-9)
    # The off-diagonal structure is the peers': within a column, wrong answers keep their ratios.
    ratio = tilted[:, 1, 0] / tilted[:, 2, 0]
    np.testing.assert_allclose(ratio, peers[1, 0] / peers[2, 0])
