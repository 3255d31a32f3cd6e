"""GLAD: worker ability times task easiness, fitted by EM with a gradient M-step."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from ._encoding import EncodedLabels, encode
from ._numeric import FloatArray, bincount_sum, scatter_match_scores, softmax_rows
from .base import BaseClassificationAggregator


class GLAD(BaseClassificationAggregator):
    r"""GLAD (Generative model of Labels, Abilities, and Difficulties).

    Worker :math:`j` has ability :math:`\alpha_j \in \mathbb{R}`, task :math:`t` has inverse
    difficulty :math:`e^{\beta_t} > 0`, and with :math:`\sigma` the logistic function

    .. math:: P(y_{tj} = z_t) = a_{tj} = \sigma(\alpha_j e^{\beta_t}),\qquad
              P(y_{tj} = l \ne z_t) = \frac{1 - a_{tj}}{K - 1}.

    Priors :math:`\alpha_j \sim N(\mu_\alpha, 1)`, :math:`\beta_t \sim N(\mu_\beta, 1)`
    (``alphas_priors_mean``, ``betas_priors_mean``: a number, or a Series per worker / task;
    1 by default) keep the estimates finite.

    * **E-step**: :math:`\log q_{tk} = \log p_k + \sum_j [y_{tj}=k]\log a_{tj} +
      [y_{tj}\ne k]\log\frac{1-a_{tj}}{K-1} - \log Z_t`, with
      :math:`\log a = -\mathrm{softplus}(-x)` evaluated stably (``log_expit``).
    * **M-step**: maximize :math:`Q(\alpha,\beta) = \sum_{t,j} q_{t y_{tj}} \log a_{tj} +
      (1 - q_{t y_{tj}})\log\frac{1-a_{tj}}{K-1} + \log N(\alpha) + \log N(\beta)` by
      block coordinate ascent (at most ``m_step_max_iter`` sweeps, until no parameter moves by
      more than ``m_step_tol``): with :math:`x = \alpha e^\beta` and
      :math:`\partial Q / \partial x_{tj} = q_{t y_{tj}} - a_{tj}`, each sweep takes one
      Fisher-scoring step for every :math:`\alpha_j`, then for every :math:`\beta_t`,
      accumulated with ``bincount``.

    Stops when the log posterior (marginal log-likelihood plus the priors), per answer, improves
    by less than ``tol``, or after ``n_iter`` rounds.
    Class priors :math:`p` are uniform unless ``labels_priors`` is given.

    Reference: J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma, J. Movellan, "Whose Vote Should Count
    More: Optimal Integration of Labels from Labelers of Unknown Expertise", NeurIPS 2009.
    """

    alphas_: pd.Series[Any]
    """Worker abilities :math:`\\alpha_j` (indexed by ``worker``)."""

    betas_: pd.Series[Any]
    """Log inverse task difficulties :math:`\\beta_t` (indexed by ``task``)."""

    skills_: pd.Series[Any]
    """:math:`\\sigma(\\alpha_j)`: a worker's accuracy on a task of average difficulty."""

    loss_history_: list[float]
    """Log posterior (marginal likelihood plus priors) per answer at each EM round."""

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        labels_priors: pd.Series[Any] | None = None,
        alphas_priors_mean: float | pd.Series[Any] | None = None,
        betas_priors_mean: float | pd.Series[Any] | None = None,
        m_step_max_iter: int = 25,
        m_step_tol: float = 1e-2,
    ) -> None:
        #: Maximum number of EM rounds.
        self.n_iter = n_iter
        #: Stop when Q per answer improves by less than this.
        self.tol = tol
        #: Class prior (indexed by label); uniform when ``None``.
        self.labels_priors = labels_priors
        #: Mean of the Gaussian prior on worker abilities.
        self.alphas_priors_mean = alphas_priors_mean
        #: Mean of the Gaussian prior on log task easiness.
        self.betas_priors_mean = betas_priors_mean
        #: Maximum L-BFGS iterations per M-step.
        self.m_step_max_iter = m_step_max_iter
        #: Gradient tolerance of each M-step.
        self.m_step_tol = m_step_tol

    def fit(self, data: pd.DataFrame) -> Self:
        """Fit the model by EM."""
        extra = [] if self.labels_priors is None else list(self.labels_priors.index)
        enc = encode(data, extra_labels=extra)
        n_tasks, n_labels = enc.n_tasks, enc.n_labels
        if self.labels_priors is None:
            log_prior = np.full(n_labels, -np.log(max(n_labels, 1)))
        else:
            prior = self.labels_priors.reindex(enc.labels).fillna(0.0).to_numpy(np.float64)
            log_prior = np.log(np.maximum(prior / prior.sum(), 1e-300))
        mu_alpha = _prior_means(self.alphas_priors_mean, enc.workers)
        mu_beta = _prior_means(self.betas_priors_mean, enc.tasks)
        alphas, betas = mu_alpha.copy(), mu_beta.copy()
        # log(K - 1): each wrong class shares the error mass (no wrong class when K == 1).
        log_others = np.log(max(n_labels - 1, 1))
        self.loss_history_ = []
        probas = np.zeros((n_tasks, n_labels))
        previous = -np.inf
        for _ in range(self.n_iter if enc.n_answers else 0):
            probas, log_marginal = self._e_step(enc, alphas, betas, log_prior, log_others)
            # Log posterior of the parameters (marginal likelihood plus Gaussian priors): EM
            # never decreases it, unlike Q, so it is the honest convergence measure.
            log_post = log_marginal - 0.5 * float(
                np.sum((alphas - mu_alpha) ** 2) + np.sum((betas - mu_beta) ** 2)
            )
            loss = log_post / enc.n_answers
            self.loss_history_.append(loss)
            if loss - previous < self.tol:
                break
            previous = loss
            # Posterior that answer i is correct: q[task_i, label_i].
            q_correct = probas[enc.task, enc.label]
            alphas, betas = self._m_step(enc, q_correct, alphas, betas, mu_alpha, mu_beta)
        if enc.n_answers:  # posteriors of the final parameters
            probas, _ = self._e_step(enc, alphas, betas, log_prior, log_others)
        self._set_result(enc, probas)
        self.alphas_ = pd.Series(alphas, index=enc.workers, name="alpha")
        self.betas_ = pd.Series(betas, index=enc.tasks, name="beta")
        self.skills_ = pd.Series(expit(alphas), index=enc.workers, name="skill")
        return self

    @staticmethod
    def _e_step(
        enc: EncodedLabels,
        alphas: FloatArray,
        betas: FloatArray,
        log_prior: FloatArray,
        log_others: float,
    ) -> tuple[FloatArray, float]:
        """Posteriors of the true classes and the log marginal likelihood."""
        x = alphas[enc.worker] * np.exp(betas[enc.task])
        log_scores = scatter_match_scores(
            enc.task, enc.label, enc.n_tasks, enc.n_labels, log_expit(x), log_expit(-x) - log_others
        )
        probas, log_norm = softmax_rows(log_scores + log_prior)
        return probas, float(log_norm.sum())

    def _m_step(
        self,
        enc: EncodedLabels,
        q_correct: FloatArray,
        alphas: FloatArray,
        betas: FloatArray,
        mu_a: FloatArray,
        mu_b: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Block coordinate ascent on Q: alternate Fisher-scoring steps on alpha and beta.

        Given beta, Q is concave and separable in the alphas (and vice versa for the Fisher
        approximation in beta), so each block update is one vectorized Newton step per worker
        (task) built from two ``bincount`` calls: step = gradient / (expected curvature + 1),
        the +1 being the Gaussian prior's. Much cheaper than a generic quasi-Newton solver over
        all workers and tasks at once, and it converges in a few sweeps.
        """
        a, b = alphas.copy(), betas.copy()
        n_workers, n_tasks = a.shape[0], b.shape[0]
        for _ in range(self.m_step_max_iter):
            easiness = np.exp(b)[enc.task]
            x = a[enc.worker] * easiness
            sigma = expit(x)
            residual, curvature = q_correct - sigma, sigma * (1.0 - sigma)
            grad_a = bincount_sum(enc.worker, residual * easiness, n_workers) - (a - mu_a)
            info_a = bincount_sum(enc.worker, curvature * easiness**2, n_workers) + 1.0
            step_a = np.clip(grad_a / info_a, -1.0, 1.0)
            a += step_a
            x = a[enc.worker] * easiness
            sigma = expit(x)
            residual, curvature = q_correct - sigma, sigma * (1.0 - sigma)
            grad_b = bincount_sum(enc.task, residual * x, n_tasks) - (b - mu_b)
            info_b = bincount_sum(enc.task, curvature * x**2, n_tasks) + 1.0
            step_b = np.clip(grad_b / info_b, -1.0, 1.0)
            b += step_b
            moved = max(
                float(np.abs(step_a).max(initial=0.0)), float(np.abs(step_b).max(initial=0.0))
            )
            if moved < self.m_step_tol:
                break
        return a, b


def _prior_means(value: float | pd.Series[Any] | None, index: pd.Index) -> FloatArray:
    """Per-entity prior means: 1.0 by default (as in crowd-kit), a number, or a Series."""
    if value is None:
        return np.ones(len(index))
    if isinstance(value, pd.Series):
        return value.reindex(index).fillna(1.0).to_numpy(dtype=np.float64)
    return np.full(len(index), float(value))
