"""MACE: the batched sparse E-step against a plain per-answer implementation, and its knobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import digamma

from labelmill.quality import MACE
from labelmill.quality import mace as mace_module
from labelmill.quality._encoding import encode

from ._crowd import make_crowd


def _reference(data: pd.DataFrame, model: MACE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One restart of VB MACE, answer by answer (the textbook form), same start and prior."""
    enc = encode(data)
    w, k = enc.n_workers, enc.n_labels
    rng = np.random.default_rng(model.random_state)
    spamming = rng.uniform(1.0, 1.0 + model.default_noise, (w, 2))
    strategy = rng.uniform(1.0, 1.0 + model.default_noise, (w, k))
    spamming /= spamming.sum(axis=1, keepdims=True)
    strategy /= strategy.sum(axis=1, keepdims=True)
    priors = np.full(k, 1.0 / k)

    def e_step() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        spam = spamming[enc.worker, 0] * strategy[enc.worker, enc.label]
        knows = spamming[enc.worker, 1]
        log_scores = np.tile(np.log(priors), (enc.n_tasks, 1))
        for c in range(k):
            np.add.at(log_scores[:, c], enc.task, np.log(spam + knows * (enc.label == c)))
        probas = np.exp(log_scores - log_scores.max(axis=1, keepdims=True))
        probas /= probas.sum(axis=1, keepdims=True)
        q = probas[enc.task, enc.label]
        expected_knows = q * knows / (spam + knows)
        spam_counts = np.zeros((w, 2))
        np.add.at(spam_counts[:, 0], enc.worker, 1.0 - expected_knows)
        np.add.at(spam_counts[:, 1], enc.worker, expected_knows)
        strategy_counts = np.zeros((w, k))
        np.add.at(strategy_counts, (enc.worker, enc.label), 1.0 - expected_knows)
        return probas, spam_counts, strategy_counts

    def vb(counts: np.ndarray) -> np.ndarray:
        return np.exp(digamma(counts) - digamma(counts.sum(axis=1, keepdims=True)))

    for _ in range(model.n_iter):
        probas, spam_counts, strategy_counts = e_step()
        spamming = vb(spam_counts + np.array([model.alpha, model.beta]))
        strategy = vb(strategy_counts + model.strategy_prior)
        mean = probas.mean(axis=0)
        priors = (1 - model.prior_shrinkage) * mean + model.prior_shrinkage / k
    return e_step()[0], spamming, strategy


@pytest.mark.parametrize("n_classes", [2, 4])
def test_matches_per_answer_reference(n_classes: int) -> None:
    data, _ = make_crowd(n_tasks=60, n_classes=n_classes, seed=21)
    model = MACE(n_restarts=1, n_iter=12, tol=-1.0, random_state=3)
    model.fit(data)
    probas, spamming, strategy = _reference(data, model)
    np.testing.assert_allclose(model.probas_.to_numpy(), probas, atol=1e-9)
    np.testing.assert_allclose(model.spamming_, spamming, atol=1e-9)
    np.testing.assert_allclose(model.thetas_, strategy, atol=1e-9)
    assert len(model.loss_history_) == 12


def test_batched_restarts_match_restarts_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tiny block size splits the batch of restarts into single columns.
    data, _ = make_crowd(n_tasks=50, n_classes=3, seed=22)
    together = MACE(n_restarts=6, random_state=5).fit(data)
    monkeypatch.setattr(mace_module._Batch, "max_block", 1)
    apart = MACE(n_restarts=6, random_state=5).fit(data)
    pd.testing.assert_frame_equal(together.probas_, apart.probas_)
    np.testing.assert_allclose(together.loss_history_, apart.loss_history_, rtol=1e-12)


def test_prior_shrinkage_ends() -> None:
    data, _ = make_crowd(n_tasks=80, n_classes=3, seed=23)
    uniform = MACE(learn_priors=False).fit(data)
    full = MACE(prior_shrinkage=1.0).fit(data)
    pd.testing.assert_frame_equal(uniform.probas_, full.probas_)
    np.testing.assert_allclose(full.priors_.to_numpy(), 1.0 / 3)
    learned = MACE(prior_shrinkage=0.0).fit(data)
    np.testing.assert_allclose(learned.priors_.sum(), 1.0)


def test_imbalanced_crowd_learns_the_prior() -> None:
    # 85% of tasks in one class and three answers each: the learned prior must follow the data
    # (shrunk, but well away from uniform) and beat the paper's uniform prior.
    rng = np.random.default_rng(24)
    n_tasks, n_workers = 600, 40
    truth = (rng.random(n_tasks) < 0.15).astype(int)
    skill = rng.uniform(0.2, 0.8, n_workers)
    rows = []
    for t in range(n_tasks):
        for j in rng.choice(n_workers, 3, replace=False):
            label = truth[t] if rng.random() < skill[j] else int(rng.integers(0, 2))
            rows.append((t, j, label))
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    learned = MACE().fit(data)
    uniform = MACE(learn_priors=False).fit(data)
    assert learned.priors_[0] > 0.7
    accuracy = (learned.labels_.sort_index().to_numpy() == truth).mean()
    assert accuracy >= (uniform.labels_.sort_index().to_numpy() == truth).mean()


def test_single_restart_and_no_answers() -> None:
    data, _ = make_crowd(n_tasks=30, seed=25)
    model = MACE(n_restarts=0, n_iter=5).fit(data)  # treated as one restart
    assert len(model.loss_history_) <= 5
    empty = MACE().fit(pd.DataFrame({"task": [], "worker": [], "label": []}))
    assert empty.probas_.shape == (0, 0)
