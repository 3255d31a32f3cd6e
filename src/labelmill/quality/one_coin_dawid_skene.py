"""One-coin Dawid-Skene: one accuracy per worker, errors spread evenly over the other classes."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from ._encoding import encode
from ._numeric import (
    PROB_FLOOR,
    FloatArray,
    IntArray,
    column_sums,
    normalize_rows,
    scatter_match_scores,
    softmax_rows,
    vote_counts,
)
from .base import BaseClassificationAggregator


class OneCoinDawidSkene(BaseClassificationAggregator):
    r"""One-coin Dawid-Skene: worker :math:`j` is right with probability :math:`s_j`.

    The confusion matrix of :class:`DawidSkene` is restricted to
    :math:`e^j_{kl} = s_j` if :math:`l = k` and :math:`(1 - s_j)/(K-1)` otherwise: one parameter
    per worker instead of :math:`K(K-1)`, which is far more stable when workers answer few tasks.

    EM from majority-vote fractions :math:`q_{tk}`:

    * **M-step**: :math:`s_j = (\sum_{t \in T_j} q_{t,y_{tj}} + a) / (|T_j| + a + b)` where
      ``(a, b) = skill_prior`` are Beta pseudo-counts (0, 0 is maximum likelihood), and
      :math:`\pi_k \propto \sum_t q_{tk}`.
    * **E-step**: :math:`\log q_{tk} = \log\pi_k + \sum_j [y_{tj}=k]\log s_j +
      [y_{tj}\ne k]\log\frac{1-s_j}{K-1} - \log Z_t`, in log space with a max shift.

    Stops when the mean log-likelihood per answer improves by less than ``tol`` or after
    ``n_iter`` iterations.

    Reference: the "one-coin" model of A. P. Dawid, A. M. Skene (1979) as studied in Y. Zhang,
    X. Chen, D. Zhou, M. I. Jordan, "Spectral Methods Meet EM: A Provably Optimal Algorithm for
    Crowdsourcing", NeurIPS 2014.
    """

    priors_: pd.Series[Any]
    """Estimated class prevalence (indexed by ``label``)."""

    skills_: pd.Series[Any]
    """Each worker's probability of answering correctly (indexed by ``worker``)."""

    loss_history_: list[float]
    """Mean log-likelihood per answer after each EM iteration."""

    def __init__(
        self, n_iter: int = 100, tol: float = 1e-5, skill_prior: tuple[float, float] = (0.0, 0.0)
    ) -> None:
        #: Maximum number of EM iterations.
        self.n_iter = n_iter
        #: Stop when the mean log-likelihood per answer improves by less than this.
        self.tol = tol
        #: Beta(a, b) pseudo-counts of correct and wrong answers added to every worker.
        self.skill_prior = skill_prior

    def fit(self, data: pd.DataFrame) -> Self:
        """Fit the model by EM."""
        enc = encode(data)
        n_labels = enc.n_labels
        probas = normalize_rows(vote_counts(enc.task, enc.label, enc.n_tasks, n_labels))
        answers_per_worker = np.bincount(enc.worker, minlength=enc.n_workers).astype(np.float64)
        self.loss_history_ = []
        previous = -np.inf
        skills, priors = self._m_step(probas, enc.task, enc.worker, enc.label, answers_per_worker)
        for _ in range(self.n_iter if enc.n_answers else 0):
            log_match = np.log(skills)[enc.worker]
            # With a single class there is no "other" class to be wrong about.
            wrong = (1.0 - skills) / max(n_labels - 1, 1)
            log_mismatch = np.log(np.maximum(wrong, PROB_FLOOR))[enc.worker]
            log_scores = scatter_match_scores(
                enc.task, enc.label, enc.n_tasks, n_labels, log_match, log_mismatch
            )
            log_scores += np.log(np.maximum(priors, PROB_FLOOR))
            probas, log_norm = softmax_rows(log_scores)
            skills, priors = self._m_step(
                probas, enc.task, enc.worker, enc.label, answers_per_worker
            )
            loss = float(log_norm.sum()) / enc.n_answers
            self.loss_history_.append(loss)
            if loss - previous < self.tol:
                break
            previous = loss
        self._set_result(enc, probas)
        self.priors_ = pd.Series(priors, index=enc.labels, name="prior")
        self.skills_ = pd.Series(skills, index=enc.workers, name="skill")
        return self

    def _m_step(
        self,
        probas: FloatArray,
        task: IntArray,
        worker: IntArray,
        label: IntArray,
        answers_per_worker: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        a, b = self.skill_prior
        n_workers = answers_per_worker.shape[0]
        correct = np.bincount(worker, weights=probas[task, label], minlength=n_workers)
        skills = (correct + a) / np.maximum(answers_per_worker + a + b, PROB_FLOOR)
        skills = np.clip(skills, PROB_FLOOR, 1.0 - PROB_FLOOR)
        mass = column_sums(probas)
        priors = mass / max(float(mass.sum()), PROB_FLOOR)
        return skills, priors
