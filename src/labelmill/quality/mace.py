"""MACE: each worker either knows the answer or spams from a personal label distribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.special import digamma

from ._encoding import EncodedLabels, encode
from ._numeric import (
    PROB_FLOOR,
    FloatArray,
    bincount_sum,
    column_sums,
    scatter_match_scores,
    softmax_rows,
)
from .base import BaseClassificationAggregator


class MACE(BaseClassificationAggregator):
    r"""MACE (Multi-Annotator Competence Estimation).

    True labels follow a class prior :math:`z_t \sim \mathrm{Cat}(\pi)`: uniform as in the paper
    when ``learn_priors=False``; by default :math:`\pi` is re-estimated in every M-step as the
    mean posterior, which matters on imbalanced data (with few answers per task a uniform prior
    hands the minority class far too many tasks). On each answer worker :math:`j` spams
    with probability :math:`\theta_j` (``spamming_[:, 0]``) and then draws the label from a
    personal strategy :math:`\xi_j` (``thetas_``); otherwise (``spamming_[:, 1]``) it gives the
    true label. Hence

    .. math:: P(y_{tj} = l \mid z_t = k) = \theta_j \xi_{jl} + (1 - \theta_j)[l = k].

    * **E-step** (log space, max-shifted): :math:`\log q_{tk} = \sum_j \log(\theta_j\xi_{jy})
      + [y_{tj}=k](\log(\theta_j\xi_{jy} + 1 - \theta_j) - \log(\theta_j\xi_{jy})) - \log Z_t`.
      The expected number of spammed answers is, per answer,
      :math:`(1 - q_{ty}) + q_{ty}\,\theta_j\xi_{jy} / (\theta_j\xi_{jy} + 1 - \theta_j)`.
    * **M-step**: ``method="vb"`` (default) is variational Bayes with Beta(``alpha``, ``beta``)
      priors on :math:`(\theta_j, 1-\theta_j)` and a symmetric Dirichlet(10) prior on
      :math:`\xi_j`: parameters become :math:`\exp\psi(c + \text{prior}) /
      \exp\psi(\sum c + \text{prior})`. ``method="em"`` normalizes counts plus ``smoothing``/K.

    ``n_restarts`` random initialisations (drawn from ``np.random.default_rng(random_state)``)
    each run ``probe_iter`` iterations; the best third (by marginal likelihood) then continue to
    ``n_iter`` iterations (or until the log marginal likelihood per answer improves by less than
    ``tol``), and the best of those is kept.

    Reference: D. Hovy, T. Berg-Kirkpatrick, A. Vaswani, E. Hovy, "Learning Whom to Trust with
    MACE", NAACL-HLT 2013.
    """

    spamming_: FloatArray
    """(workers x 2): probability of spamming (column 0) and of knowing (column 1)."""

    thetas_: FloatArray
    """(workers x labels): each worker's spamming strategy :math:`\\xi_j`."""

    skills_: pd.Series[Any]
    """Each worker's competence :math:`1 - \\theta_j` (indexed by ``worker``)."""

    priors_: pd.Series[Any]
    """Class prior :math:`\\pi` (indexed by ``label``)."""

    loss_history_: list[float]
    """Log marginal likelihood per answer at each iteration of the best restart."""

    def __init__(
        self,
        n_restarts: int = 10,
        n_iter: int = 50,
        method: str = "vb",
        smoothing: float = 0.1,
        default_noise: float = 0.5,
        alpha: float = 0.5,
        beta: float = 0.5,
        strategy_prior: float = 10.0,
        tol: float = 1e-7,
        learn_priors: bool = True,
        probe_iter: int = 10,
        random_state: int | None = 0,
    ) -> None:
        if method not in ("vb", "em"):
            raise ValueError(f"method must be 'vb' or 'em', not {method!r}")
        #: Number of random initialisations.
        self.n_restarts = n_restarts
        #: Maximum iterations per restart.
        self.n_iter = n_iter
        #: ``"vb"`` (variational Bayes) or ``"em"``.
        self.method = method
        #: EM only: pseudo-count mass spread over the K cells before normalizing.
        self.smoothing = smoothing
        #: Width of the uniform noise of the random initialisation.
        self.default_noise = default_noise
        #: Beta prior pseudo-count on spamming.
        self.alpha = alpha
        #: Beta prior pseudo-count on knowing.
        self.beta = beta
        #: Symmetric Dirichlet pseudo-count on each strategy cell.
        self.strategy_prior = strategy_prior
        #: Stop a restart when the log marginal likelihood per answer improves by less than this.
        self.tol = tol
        #: Re-estimate the class prior (True) or keep it uniform as in the paper (False).
        self.learn_priors = learn_priors
        #: Iterations every restart runs before the best third is chosen to continue.
        self.probe_iter = probe_iter
        #: Seed of the random initialisations.
        self.random_state = random_state

    def fit(self, data: pd.DataFrame) -> Self:
        """Fit with random restarts and keep the best marginal likelihood."""
        enc = encode(data)
        rng = np.random.default_rng(self.random_state)
        uniform = np.full(enc.n_labels, 1.0 / max(enc.n_labels, 1))
        # Multi-start with early pruning: every restart runs a short probe, then only the most
        # promising third (by marginal likelihood) runs to the end. Restarts that are far behind
        # after the probe almost never win, and this halves the cost of ten restarts.
        starts: list[_Start] = []
        for _ in range(max(self.n_restarts, 1)):
            spamming = rng.uniform(1.0, 1.0 + self.default_noise, (enc.n_workers, 2))
            strategy = rng.uniform(1.0, 1.0 + self.default_noise, (enc.n_workers, enc.n_labels))
            spamming /= spamming.sum(axis=1, keepdims=True)
            strategy /= strategy.sum(axis=1, keepdims=True)
            start = _Start(spamming, strategy, uniform, [], -np.inf, -np.inf, False)
            self._iterate(enc, start, min(self.probe_iter, self.n_iter))
            starts.append(start)
        starts.sort(key=lambda st: st.score, reverse=True)
        survivors = starts[: max(1, -(-len(starts) // 3))]
        for start in survivors:
            self._iterate(enc, start, self.n_iter - len(start.history))
        best = max(survivors, key=lambda st: st.score)
        self.spamming_, self.thetas_, self.loss_history_ = (
            best.spamming,
            best.strategy,
            best.history,
        )
        probas, _, _, _ = self._e_step(enc, best.spamming, best.strategy, best.priors)
        self.priors_ = pd.Series(best.priors, index=enc.labels, name="prior")
        self._set_result(enc, probas)
        self.skills_ = pd.Series(self.spamming_[:, 1], index=enc.workers, name="skill")
        return self

    def _iterate(self, enc: EncodedLabels, start: _Start, n_iter: int) -> None:
        """Run up to ``n_iter`` EM/VB iterations on ``start`` in place (stops at ``tol``)."""
        for _ in range(n_iter if enc.n_answers else 0):
            if start.converged:
                break
            probas, loss, spam_counts, strategy_counts = self._e_step(
                enc, start.spamming, start.strategy, start.priors
            )
            start.spamming, start.strategy = self._m_step(spam_counts, strategy_counts)
            if self.learn_priors:
                start.priors = column_sums(probas) / max(enc.n_tasks, 1)
            start.history.append(loss)
            start.converged = loss - start.previous < self.tol
            start.previous = loss
        # Score the final parameters (the history holds the value before each update).
        _, start.score, _, _ = self._e_step(enc, start.spamming, start.strategy, start.priors)

    @staticmethod
    def _e_step(
        enc: EncodedLabels, spamming: FloatArray, strategy: FloatArray, priors: FloatArray
    ) -> tuple[FloatArray, float, FloatArray, FloatArray]:
        """Posteriors, log marginal likelihood per answer and expected counts."""
        n_labels = enc.n_labels
        # Flat indexes into (worker x label) and (task x label) tables: np.take on a raveled
        # table is several times faster than 2-D fancy indexing in this hot loop.
        answer_cell = enc.worker * n_labels + enc.label
        task_cell = enc.task * n_labels + enc.label
        spam = np.take(spamming[:, 0], enc.worker) * np.take(strategy, answer_cell)  # P(y, spam)
        knows = np.take(spamming[:, 1], enc.worker)  # P(no spam), when y is the truth
        total = spam + knows
        log_scores = scatter_match_scores(
            enc.task, enc.label, enc.n_tasks, n_labels, np.log(total), np.log(spam)
        )
        probas, log_norm = softmax_rows(log_scores + np.log(np.maximum(priors, PROB_FLOOR)))
        q = np.take(probas, task_cell)  # P(z = y | data)
        expected_spam = (1.0 - q) + q * spam / total
        expected_knows = q * knows / total
        spam_counts = np.stack(
            [
                bincount_sum(enc.worker, expected_spam, enc.n_workers),
                bincount_sum(enc.worker, expected_knows, enc.n_workers),
            ],
            axis=1,
        )
        strategy_counts = bincount_sum(
            answer_cell, expected_spam, enc.n_workers * n_labels
        ).reshape(enc.n_workers, n_labels)
        loss = float(log_norm.sum()) / max(enc.n_answers, 1)
        return probas, loss, spam_counts, strategy_counts

    def _m_step(
        self, spam_counts: FloatArray, strategy_counts: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        if self.method == "vb":
            beta_prior = np.array([self.alpha, self.beta])
            return (
                _variational_normalize(spam_counts + beta_prior),
                _variational_normalize(strategy_counts + self.strategy_prior),
            )
        n_labels = strategy_counts.shape[1]
        smooth = self.smoothing / max(n_labels, 1)
        spam = spam_counts + smooth
        strat = strategy_counts + smooth
        return spam / spam.sum(axis=1, keepdims=True), strat / strat.sum(axis=1, keepdims=True)


@dataclass
class _Start:
    """State of one random restart."""

    spamming: FloatArray
    strategy: FloatArray
    priors: FloatArray
    history: list[float]
    previous: float  # log marginal likelihood per answer at the last iteration
    score: float  # the same, for the current parameters
    converged: bool


def _variational_normalize(pseudo_counts: FloatArray) -> FloatArray:
    """Mean-field update ``exp(E[log p])`` of Dirichlet(``pseudo_counts``) rows."""
    total = pseudo_counts.sum(axis=1, keepdims=True)
    return np.exp(np.asarray(digamma(pseudo_counts) - digamma(total), dtype=np.float64))
