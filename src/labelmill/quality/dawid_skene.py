"""Dawid-Skene: one full confusion matrix per worker, fitted by EM."""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._encoding import EncodedLabels, encode
from ._numeric import (
    PROB_FLOOR,
    FloatArray,
    IntArray,
    column_sums,
    incidence,
    softmax_classes,
    vote_counts,
)
from .base import BaseClassificationAggregator


class DawidSkene(BaseClassificationAggregator):
    r"""Dawid-Skene model: every worker has a :math:`K \times K` confusion matrix.

    Model: task :math:`t` has a latent true class :math:`z_t \sim \mathrm{Cat}(\pi)`; worker
    :math:`j` answers :math:`y_{tj} = l` with probability :math:`e^j_{kl} = P(y_{tj}=l \mid z_t=k)`.

    EM, started from majority-vote fractions :math:`q_{tk}`:

    * **M-step**: :math:`\pi_k \propto \sum_t q_{tk} + \beta`, and
      :math:`e^j_{kl} \propto \sum_{t:\,y_{tj}=l} q_{tk} + \alpha`, where ``smoothing``
      (:math:`\alpha`) and ``prior_smoothing`` (:math:`\beta`) are Dirichlet pseudo-counts
      (MAP-EM); both are 0 by default, which is the maximum-likelihood algorithm of the paper.
      A worker with fewer than ``one_coin_below`` answers has too little data for the
      :math:`K(K-1)` free cells of a confusion matrix; it gets a one-coin matrix instead
      (:math:`e^j_{kk} = s_j`, the rest :math:`(1-s_j)/(K-1)`), with
      :math:`s_j = (c_j + m\bar s) / (n_j + m)`: its expected number of correct answers
      :math:`c_j` of :math:`n_j`, shrunk towards the crowd's pooled accuracy :math:`\bar s` by a
      Beta prior worth :math:`m` = ``one_coin_prior`` answers. ``"auto"`` means :math:`K^2` answers;
      0 (default) disables this.
    * **E-step**: :math:`\log q_{tk} = \log\pi_k + \sum_{j} \log e^j_{k y_{tj}} - \log Z_t`,
      computed in log space (a product of hundreds of probabilities underflows) as one sparse
      (tasks x worker-answers) by (worker-answers x classes) product, and normalized (rows
      whose exponentials would under- or overflow are shifted by their maximum first).

    Iterates until the mean log-likelihood per answer improves by less than ``tol``, at most
    ``n_iter`` times; the per-iteration values are in ``loss_history_``.

    Reference: A. P. Dawid, A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates
    Using the EM Algorithm", Journal of the Royal Statistical Society C 28(1), 1979, 20-28.
    """

    priors_: pd.Series[Any]
    """Estimated class prevalence :math:`\\pi` (indexed by ``label``)."""

    errors_: pd.DataFrame
    """Confusion matrices: row ``(worker, observed label)``, column true label, so that
    ``errors_.loc[(w, l), k]`` is :math:`P(y = l \\mid z = k)` for worker ``w``."""

    skills_: pd.Series[Any]
    """Each worker's expected accuracy :math:`\\sum_k \\pi_k e^j_{kk}`."""

    loss_history_: list[float]
    """Mean log-likelihood per answer after each EM iteration."""

    n_iter_: int
    """Number of EM iterations run."""

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        smoothing: float = 0.0,
        prior_smoothing: float = 0.0,
        one_coin_below: int | Literal["auto"] = 0,
        one_coin_prior: float = 2.0,
    ) -> None:
        #: Maximum number of EM iterations.
        self.n_iter = n_iter
        #: Stop when the mean log-likelihood per answer improves by less than this.
        self.tol = tol
        #: Dirichlet pseudo-count added to every confusion-matrix cell.
        self.smoothing = smoothing
        #: Dirichlet pseudo-count added to every class of the prevalence prior.
        self.prior_smoothing = prior_smoothing
        #: Workers with fewer answers get a one-coin matrix; ``"auto"``: K squared.
        self.one_coin_below = one_coin_below
        #: Weight, in answers, of the pooled accuracy in a one-coin worker's accuracy.
        self.one_coin_prior = one_coin_prior

    def fit(self, data: pd.DataFrame, true_labels: pd.Series[Any] | None = None) -> Self:
        """Fit the model by EM.

        ``true_labels`` (task -> known label, as in crowd-kit) clamps those tasks' posteriors in
        every E-step; see :class:`GoldDawidSkene`.
        """
        if true_labels is None:
            return self._fit_encoded(encode(data), clamp=None)
        gold = true_labels.dropna()
        enc = encode(data, extra_labels=gold.unique())
        gold = gold[gold.index.isin(enc.tasks)]
        tasks = enc.tasks.get_indexer(gold.index).astype(np.intp)
        labels = enc.labels.get_indexer(pd.Index(gold.to_numpy())).astype(np.intp)
        return self._fit_encoded(enc, clamp=(tasks, labels))

    def fit_predict(
        self, data: pd.DataFrame, true_labels: pd.Series[Any] | None = None
    ) -> pd.Series[Any]:
        """Fit, then return :attr:`labels_`."""
        return self.fit(data, true_labels).labels_

    def fit_predict_proba(
        self, data: pd.DataFrame, true_labels: pd.Series[Any] | None = None
    ) -> pd.DataFrame:
        """Fit, then return :attr:`probas_`."""
        return self.fit(data, true_labels).probas_

    def _fit_encoded(self, enc: EncodedLabels, clamp: tuple[IntArray, IntArray] | None) -> Self:
        """EM on encoded data; ``clamp = (task codes, label codes)`` fixes those posteriors."""
        n_tasks, n_workers, n_labels = enc.n_tasks, enc.n_workers, enc.n_labels
        self.loss_history_ = []
        self.n_iter_ = 0
        if enc.n_answers == 0:
            self._store(
                enc,
                np.zeros((0, n_labels)),
                np.full(n_labels, 1.0 / max(n_labels, 1)),
                np.zeros((n_workers, n_labels, n_labels)),
            )
            return self
        # Column index of (worker, observed label) in the flattened confusion tables.
        answer_col = enc.worker * n_labels
        answer_col += enc.label
        by_task = incidence(enc.task, answer_col, n_tasks, n_workers * n_labels)
        # The M-step needs the transpose; scipy's CSC view of it costs nothing to make and its
        # product with the (tasks x classes) posterior streams the posterior sequentially.
        by_answer = by_task.T

        # Majority-vote fractions: every task has at least one answer, and its row of the
        # incidence matrix holds one entry per answer, so the row lengths are the vote totals.
        probas = vote_counts(enc.task, enc.label, n_tasks, n_labels)
        probas /= np.maximum(np.diff(by_task.indptr), 1)[:, None]
        answers_per_worker = np.bincount(enc.worker, minlength=n_workers)
        _apply_clamp(probas, clamp)
        class_mass = column_sums(probas)
        result = probas
        # Buffers reused by every iteration: fresh arrays this size cost a page fault per 4 KiB.
        probas_t = np.empty((n_labels, n_tasks))
        previous = -np.inf
        for _ in range(self.n_iter):
            priors, errors = self._m_step(by_answer, probas, class_mass, answers_per_worker)
            class_mass, loss = self._e_step(by_task, priors, errors, clamp, enc.n_answers, probas_t)
            # Tasks x classes again, contiguous, for the M-step's sparse product; the result
            # can keep the transposed view (pandas stores a frame's columns that way anyway).
            result = probas_t.T
            np.copyto(probas, result)
            self.loss_history_.append(loss)
            self.n_iter_ += 1
            if loss - previous < self.tol:
                break
            previous = loss
        priors, errors = self._m_step(by_answer, probas, class_mass, answers_per_worker)
        self._store(enc, result, priors, errors)
        return self

    def _m_step(
        self,
        by_answer: sp.csc_matrix,
        probas: FloatArray,
        class_mass: FloatArray,
        answers_per_worker: IntArray,
    ) -> tuple[FloatArray, FloatArray]:
        """MAP estimates of the prevalence and of every worker's confusion matrix.

        ``class_mass`` is the column sums of ``probas`` (the E-step has them at hand).
        """
        # counts[j, l, k] = expected number of times worker j said l when the truth was k.
        n_workers, n_labels = answers_per_worker.shape[0], probas.shape[1]
        counts = np.asarray(by_answer @ probas).reshape(n_workers, n_labels, n_labels)
        smoothed = counts + self.smoothing if self.smoothing else counts
        totals = smoothed.sum(axis=1, keepdims=True)
        errors = smoothed / np.maximum(totals, PROB_FLOOR)
        empty = totals[:, 0, :] <= PROB_FLOOR
        if empty.any():
            # A true class with no mass for this worker carries no information: uniform column.
            errors.transpose(0, 2, 1)[empty] = 1.0 / n_labels
        threshold = n_labels * n_labels if self.one_coin_below == "auto" else self.one_coin_below
        # Integer answer counts: a float sum of posteriors could land either side of the line.
        few = answers_per_worker < threshold
        if few.any() and n_labels > 1:
            # Accuracy shrunk towards the crowd's by a Beta prior worth `one_coin_prior`
            # answers: two answers alone would push a worker to 0 or 1.
            n_answers = answers_per_worker[few].astype(np.float64)
            correct = np.trace(counts[few], axis1=1, axis2=2)
            pooled = float(np.trace(counts.sum(axis=0))) / max(float(counts.sum()), PROB_FLOOR)
            strength = self.one_coin_prior
            accuracy = (correct + strength * pooled) / (n_answers + strength)
            accuracy = np.clip(accuracy, PROB_FLOOR, 1.0 - PROB_FLOOR)
            one_coin = np.repeat(((1.0 - accuracy) / (n_labels - 1))[:, None], n_labels, axis=1)
            one_coin = np.repeat(one_coin[:, :, None], n_labels, axis=2)
            one_coin[:, np.arange(n_labels), np.arange(n_labels)] = accuracy[:, None]
            errors[few] = one_coin
        smoothed_mass = class_mass + self.prior_smoothing
        priors = smoothed_mass / smoothed_mass.sum()
        return priors, errors

    @staticmethod
    def _e_step(
        by_task: sp.csr_matrix,
        priors: FloatArray,
        errors: FloatArray,
        clamp: tuple[IntArray, IntArray] | None,
        n_answers: int,
        probas_t: FloatArray,
    ) -> tuple[FloatArray, float]:
        """Posterior of every task's class, written into ``probas_t`` in (classes x tasks)
        layout; return its class sums and the mean log-likelihood per answer."""
        n_labels = priors.shape[0]
        # Floor before the log: a zero cell would otherwise veto that class for good.
        log_errors = np.log(np.maximum(errors, PROB_FLOOR)).reshape(-1, n_labels)
        log_priors = np.log(np.maximum(priors, PROB_FLOOR))
        log_scores = np.asarray(by_task @ log_errors)
        # (classes x tasks) layout: the class sums are K contiguous reductions.
        _, log_norm = softmax_classes(log_scores, log_priors, out=probas_t)
        if clamp is not None and clamp[0].size:
            tasks, labels = clamp
            log_norm[tasks] = log_scores[tasks, labels] + log_priors[labels]
            probas_t[:, tasks] = 0.0
            probas_t[labels, tasks] = 1.0
        class_mass = probas_t.sum(axis=1)
        return class_mass, float(log_norm.sum()) / n_answers

    def _store(
        self, enc: EncodedLabels, probas: FloatArray, priors: FloatArray, errors: FloatArray
    ) -> None:
        self._set_result(enc, probas)
        self.priors_ = pd.Series(priors, index=enc.labels, name="prior")
        index = pd.MultiIndex.from_product([enc.workers, enc.labels], names=["worker", "label"])
        self.errors_ = pd.DataFrame(
            errors.reshape(enc.n_workers * enc.n_labels, enc.n_labels),
            index=index,
            columns=enc.labels,
        )
        diagonal = np.diagonal(errors, axis1=1, axis2=2)
        self.skills_ = pd.Series(diagonal @ priors, index=enc.workers, name="skill")


def _apply_clamp(probas: FloatArray, clamp: tuple[IntArray, IntArray] | None) -> None:
    """Overwrite the posteriors of known tasks with their one-hot gold label, in place."""
    if clamp is None or clamp[0].size == 0:
        return
    tasks, labels = clamp
    probas[tasks] = 0.0
    probas[tasks, labels] = 1.0
