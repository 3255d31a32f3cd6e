"""Dawid-Skene in which occasional workers borrow strength from their peers (hierarchical prior)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from ._numeric import PROB_FLOOR, FloatArray, IntArray
from .dawid_skene import DawidSkene

#: Newton steps for each sparse worker's skill; the objective is concave and smooth, so a handful
#: suffice (the loop stops once every step is below 1e-10).
_NEWTON_STEPS = 30

#: Bound on a sparse worker's log-odds shift: e^30 already makes it always (or never) right.
_MAX_SHIFT = 30.0


class HierarchicalDawidSkene(DawidSkene):
    r"""Dawid-Skene whose sparse workers are their peers' confusion matrix, tilted by one skill.

    Same model and EM as :class:`DawidSkene`. A worker with at least ``sparse_below`` answers
    ("auto": :math:`K^2`, the number of cells of its matrix) gets its own confusion matrix with
    the ``smoothing`` pseudo-count :math:`\alpha` per cell. A worker with fewer answers -- the set
    :math:`S` of sparse workers -- has too little data for :math:`K(K-1)` free cells; it gets the
    pooled confusion matrix of the *sparse workers themselves*,

    .. math:: \bar e_{lk} = \frac{\sum_{j \in S} n^j_{lk} + \alpha}
                                 {\sum_{l'} \big(\sum_{j \in S} n^j_{l'k} + \alpha\big)},

    tilted by a single skill parameter :math:`\theta_j` (a log-odds shift of being right, the
    same for every true class):

    .. math:: e^j_{lk} = \frac{\bar e_{lk}\, e^{\theta_j [l = k]}}
                              {1 + \bar e_{kk}\,(e^{\theta_j} - 1)} \quad (j \in S).

    :math:`\theta_j` maximizes the expected complete-data log-likelihood of the worker's
    answers plus :math:`m` pseudo-answers drawn from the peers' model (true class :math:`k` with
    the current prevalence :math:`\pi_k`, answer :math:`l` with :math:`\bar e_{lk}`), with
    :math:`m` = ``prior_strength`` ("auto": :math:`K^2`, as many answers as the line below which
    a worker is sparse). With :math:`\tilde n^j_{lk} = n^j_{lk} + m\,\pi_k \bar e_{lk}`,
    :math:`C_j = \sum_k \tilde n^j_{kk}` and :math:`N_{jk} = \sum_l \tilde n^j_{lk}`:

    .. math:: \theta_j = \arg\max_\theta\; \theta C_j
              - \sum_k N_{jk} \log\big(1 + \bar e_{kk}(e^\theta - 1)\big),

    a concave problem solved by Newton's method (vectorized over workers). The pseudo-answers
    are the prior: they pull :math:`\theta_j` towards 0 ("like the peers") with the weight of
    :math:`m` answers. :math:`n^j_{lk} = \sum_{t:\,y_{tj}=l} q_{tk}` are the E-step's expected
    counts.

    What it keeps of each idea. Like the one-coin fallback of :func:`aggregate` it fits one
    number per sparse worker, so a worker who answers at random is told apart from a few
    answers; unlike it, that worker's errors follow its peers' structure (``dog``: breeds 0/1
    and 2/3 are confused with each other, almost never across) and its skill is centred on
    the peers', not on the whole crowd's. That matters because occasional workers are not like
    prolific ones: on the ``web`` relevance set the workers with fewer than 100 answers are
    right 33-39% of the time against gold (chance 20%), the 29 with more are right 61% and give
    77% of the answers, so a pooled answer-weighted accuracy over-rates the occasional ones.
    Measured sweeps (real and synthetic data) are in the notes of ``bench/quality.md``.

    References: A. P. Dawid, A. M. Skene, JRSS C 28(1), 1979 (the model); H.-C. Kim,
    Z. Ghahramani, "Bayesian Classifier Combination", AISTATS 2012 (priors on the confusion
    matrices); M. Venanzi, J. Guiver, G. Kazai, P. Kohli, M. Shokouhi, "Community-Based Bayesian
    Aggregation Models for Crowdsourcing", WWW 2014 (workers sharing a population confusion
    matrix).
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        smoothing: float = 0.1,
        prior_smoothing: float = 1.0,
        sparse_below: int | Literal["auto"] = "auto",
        prior_strength: float | Literal["auto"] = "auto",
    ) -> None:
        super().__init__(
            n_iter=n_iter, tol=tol, smoothing=smoothing, prior_smoothing=prior_smoothing
        )
        #: Workers with fewer answers get the peers' tilted matrix; ``"auto"``: K squared.
        self.sparse_below = sparse_below
        #: Pseudo-answers from the peers' model in each sparse worker's fit; ``"auto"``: K squared.
        self.prior_strength = prior_strength

    def _m_step(
        self,
        by_answer: sp.csc_matrix,
        probas: FloatArray,
        class_mass: FloatArray,
        answers_per_worker: IntArray,
    ) -> tuple[FloatArray, FloatArray]:
        """MAP prevalence, own matrices for regular workers, tilted peers' for sparse ones."""
        n_workers, n_labels = answers_per_worker.shape[0], probas.shape[1]
        # counts[j, l, k] = expected number of times worker j said l when the truth was k.
        counts = np.asarray(by_answer @ probas).reshape(n_workers, n_labels, n_labels)
        smoothed = counts + self.smoothing
        totals = smoothed.sum(axis=1, keepdims=True)
        errors = smoothed / np.maximum(totals, PROB_FLOOR)
        empty = totals[:, 0, :] <= PROB_FLOOR
        if empty.any():
            # Only reachable without smoothing: a column with no mass carries no information.
            errors.transpose(0, 2, 1)[empty] = 1.0 / n_labels
        smoothed_mass = class_mass + self.prior_smoothing
        priors = smoothed_mass / smoothed_mass.sum()
        threshold = n_labels * n_labels if self.sparse_below == "auto" else self.sparse_below
        # Integer answer counts: a float sum of posteriors could land either side of the line.
        sparse = answers_per_worker < threshold
        if sparse.any() and n_labels > 1:
            strength = (
                float(n_labels * n_labels)
                if self.prior_strength == "auto"
                else float(self.prior_strength)
            )
            errors[sparse] = _tilted_peers(counts[sparse], priors, self.smoothing, strength)
        return priors, errors


def _tilted_peers(
    counts: FloatArray, priors: FloatArray, smoothing: float, strength: float
) -> FloatArray:
    """Confusion matrices of the sparse workers whose expected counts are ``counts`` (see
    :class:`HierarchicalDawidSkene`): the peers' pooled matrix tilted by each one's skill."""
    n_labels = priors.shape[0]
    peers = counts.sum(axis=0) + smoothing
    column = peers.sum(axis=0, keepdims=True)
    peers = np.where(column > PROB_FLOOR, peers / np.maximum(column, PROB_FLOOR), 1.0 / n_labels)
    diagonal = np.diagonal(peers).copy()
    # The pseudo-answers of the prior, added to every worker's counts: [l, k] = m pi_k e_lk.
    pseudo = strength * peers * priors[None, :]
    right = np.trace(counts, axis1=1, axis2=2) + np.trace(pseudo)
    per_class = counts.sum(axis=1) + pseudo.sum(axis=0)[None, :]
    shift = np.zeros(counts.shape[0])
    for _ in range(_NEWTON_STEPS):
        odds = np.exp(shift)[:, None]
        hit = diagonal * odds / (1.0 - diagonal + diagonal * odds)
        gradient = right - (per_class * hit).sum(axis=1)
        # Second derivative, negative: the objective is concave in the shift.
        curvature = -(per_class * hit * (1.0 - hit)).sum(axis=1)
        step = gradient / np.minimum(curvature, -PROB_FLOOR)
        shift = np.clip(shift - step, -_MAX_SHIFT, _MAX_SHIFT)
        if np.abs(step).max() < 1e-10:
            break
    tilted = np.repeat(peers[None, :, :], counts.shape[0], axis=0)
    labels = np.arange(n_labels)
    tilted[:, labels, labels] *= np.exp(shift)[:, None]
    tilted /= tilted.sum(axis=1, keepdims=True)
    return tilted
