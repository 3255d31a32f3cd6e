from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import (
    GLAD,
    MACE,
    DawidSkene,
    GoldDawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
)

from ._crowd import answers, make_crowd


def _accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels == truth[labels.index]).mean())


def test_dawid_skene_learns_a_systematic_confusion() -> None:
    # Worker "flip" always swaps x and y: DS learns it and turns its answers into evidence.
    rng = np.random.default_rng(3)
    truth = rng.choice(["x", "y"], 200)
    rows = []
    for t, z in enumerate(truth):
        other = "y" if z == "x" else "x"
        rows.append((t, "good", z if rng.random() < 0.8 else other))
        rows.append((t, "flip", other))
        rows.append((t, "noisy", z if rng.random() < 0.6 else other))
    ds = DawidSkene().fit(answers(rows))
    assert ds.errors_.loc[("flip", "y"), "x"] > 0.9
    assert ds.errors_.loc[("flip", "x"), "y"] > 0.9
    assert _accuracy(ds.labels_, pd.Series(truth)) > 0.97
    mv = MajorityVote().fit_predict(answers(rows))
    assert _accuracy(mv, pd.Series(truth)) < 0.8


def test_dawid_skene_attributes_are_consistent() -> None:
    data, _ = make_crowd(n_tasks=100, seed=2)
    ds = DawidSkene(n_iter=50).fit(data)
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)
    # Each (worker, true label) column of a confusion matrix is a distribution over answers.
    np.testing.assert_allclose(ds.errors_.groupby(level="worker").sum().to_numpy(), 1.0)
    assert ds.priors_.sum() == pytest.approx(1.0)
    assert 1 <= len(ds.loss_history_) <= 50
    # EM never decreases the likelihood.
    assert np.all(np.diff(ds.loss_history_) > -1e-9)
    assert ds.skills_.between(0, 1).all()


def test_dawid_skene_stops_at_n_iter() -> None:
    data, _ = make_crowd(n_tasks=50, seed=4)
    assert len(DawidSkene(n_iter=2, tol=-1.0).fit(data).loss_history_) == 2


def test_one_coin_falls_back_for_occasional_workers() -> None:
    # Each worker answers ~2 tasks: a full 3x3 confusion matrix is hopeless, a coin is not.
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 300)
    rows = []
    for t, z in enumerate(truth):
        for j in range(5):
            worker = f"w{t}_{j}"
            y = z if rng.random() < 0.7 else (z + rng.integers(1, 3)) % 3
            rows.append((t, worker, y))
    data = answers(rows)
    plain = _accuracy(DawidSkene().fit_predict(data), pd.Series(truth))
    robust = DawidSkene(smoothing=0.1, one_coin_below="auto").fit_predict(data)
    assert _accuracy(robust, pd.Series(truth)) >= plain


@pytest.mark.parametrize(
    "model",
    [DawidSkene(), OneCoinDawidSkene(), GLAD(), MACE(n_restarts=2), GoldDawidSkene()],
    ids=lambda m: type(m).__name__,
)
def test_probabilistic_models_beat_majority_vote_with_spammers(model: object) -> None:
    data, truth = make_crowd(
        n_tasks=300, per_task=5, accuracies=[0.9, 0.85, 0.8, 0.35, 0.35, 0.35, 0.35], seed=6
    )
    mv = _accuracy(MajorityVote().fit_predict(data), truth)
    labels = model.fit_predict(data)  # type: ignore[attr-defined]
    assert _accuracy(labels, truth) > mv + 0.02


def test_skills_rank_workers() -> None:
    data, _ = make_crowd(n_tasks=300, accuracies=[0.95, 0.8, 0.6, 0.45], per_task=4, seed=7)
    for model in (DawidSkene(), OneCoinDawidSkene(), GLAD(), MACE(n_restarts=2)):
        skills = model.fit(data).skills_
        assert skills["w0"] > skills["w2"] > skills["w3"], type(model).__name__


def test_gold_dawid_skene_clamps_gold() -> None:
    # Unanimous crowd says "x" on t1, but gold says "y": gold wins, with certainty.
    data = answers([("t1", "a", "x"), ("t1", "b", "x"), ("t2", "a", "x"), ("t2", "b", "y")])
    gold = pd.Series({"t1": "y", "nope": "x"})
    model = GoldDawidSkene().fit(data, gold)
    assert model.labels_["t1"] == "y"
    assert model.probas_.loc["t1", "y"] == 1.0
    assert "nope" not in model.labels_.index


def test_gold_dawid_skene_adds_gold_only_classes() -> None:
    data = answers([("t1", "a", "x"), ("t2", "a", "x")])
    model = GoldDawidSkene().fit(data, pd.Series({"t2": "z"}))
    assert set(model.probas_.columns) == {"x", "z"}
    assert model.labels_["t2"] == "z"


def test_gold_calibrates_a_liar() -> None:
    # Two liars outvote one honest worker; gold on half the tasks exposes them.
    rng = np.random.default_rng(8)
    truth = pd.Series(rng.choice(["p", "q"], 100))
    flip = {"p": "q", "q": "p"}
    rows = [(t, "honest", z) for t, z in truth.items()]
    rows += [(t, liar, flip[z]) for t, z in truth.items() for liar in ("l1", "l2")]
    data = answers(rows)
    gold = truth[:50]
    labels = GoldDawidSkene().fit_predict(data, gold)
    assert _accuracy(labels[50:], truth) == 1.0
    assert _accuracy(MajorityVote().fit_predict(data), truth) == 0.0


def test_glad_task_difficulty() -> None:
    data, _ = make_crowd(n_tasks=100, seed=9)
    glad = GLAD(n_iter=20).fit(data)
    assert glad.betas_.index.name == "task"
    assert glad.alphas_.index.name == "worker"
    assert len(glad.betas_) == 100
    np.testing.assert_allclose(glad.probas_.sum(axis=1), 1.0)


def test_mace_is_seeded() -> None:
    data, _ = make_crowd(n_tasks=80, seed=10)
    a = MACE(n_restarts=3, random_state=1).fit_predict_proba(data)
    b = MACE(n_restarts=3, random_state=1).fit_predict_proba(data)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError):
        MACE(method="gibbs")


def test_mace_em_variant_runs() -> None:
    data, truth = make_crowd(n_tasks=100, seed=11)
    labels = MACE(method="em", n_restarts=2).fit_predict(data)
    assert _accuracy(labels, truth) > 0.8


def test_dawid_skene_true_labels_matches_gold_dawid_skene() -> None:
    # crowd-kit spelling: DawidSkene().fit(data, true_labels=...)
    data, truth = make_crowd(n_tasks=80, seed=12)
    gold = truth.iloc[:20]
    pd.testing.assert_frame_equal(
        DawidSkene().fit_predict_proba(data, gold), GoldDawidSkene().fit_predict_proba(data, gold)
    )
    assert (DawidSkene().fit_predict(data, true_labels=gold)[gold.index] == gold).all()


def test_glad_prior_means_per_worker() -> None:
    data, _ = make_crowd(n_tasks=60, seed=13)
    base = GLAD(n_iter=5).fit(data).alphas_
    pulled = GLAD(n_iter=5, alphas_priors_mean=pd.Series({"w5": 4.0})).fit(data).alphas_
    assert pulled["w5"] > base["w5"]
    assert GLAD(n_iter=5, betas_priors_mean=0.0).fit(data).betas_.mean() < 1.0
