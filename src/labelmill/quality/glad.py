"""GLAD: worker ability times task easiness, fitted by EM with a gradient M-step."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from ._encoding import EncodedLabels, encode
from ._numeric import FloatArray, scatter_match_scores, softmax_rows
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
      (1 - q_{t y_{tj}})\log\frac{1-a_{tj}}{K-1} + \log N(\alpha) + \log N(\beta)` by L-BFGS
      (at most ``m_step_max_iter`` steps) with the analytic gradient
      :math:`\partial Q / \partial x_{tj} = q_{t y_{tj}} - a_{tj}`, :math:`x = \alpha e^\beta`,
      accumulated per worker and per task with ``bincount``.

    Stops when :math:`Q` per answer improves by less than ``tol`` or after ``n_iter`` rounds.
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
    """Expected complete-data log-posterior per answer after each EM round."""

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
            probas = self._e_step(enc, alphas, betas, log_prior, log_others)
            # Posterior that answer i is correct: q[task_i, label_i].
            q_correct = probas[enc.task, enc.label]
            alphas, betas, q_value = self._m_step(
                enc, q_correct, alphas, betas, log_others, mu_alpha, mu_beta
            )
            loss = q_value / enc.n_answers
            self.loss_history_.append(loss)
            if loss - previous < self.tol:
                break
            previous = loss
        if enc.n_answers:
            probas = self._e_step(enc, alphas, betas, log_prior, log_others)
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
    ) -> FloatArray:
        x = alphas[enc.worker] * np.exp(betas[enc.task])
        log_scores = scatter_match_scores(
            enc.task, enc.label, enc.n_tasks, enc.n_labels, log_expit(x), log_expit(-x) - log_others
        )
        probas, _ = softmax_rows(log_scores + log_prior)
        return probas

    def _m_step(
        self,
        enc: EncodedLabels,
        q_correct: FloatArray,
        alphas: FloatArray,
        betas: FloatArray,
        log_others: float,
        mu_a: FloatArray,
        mu_b: FloatArray,
    ) -> tuple[FloatArray, FloatArray, float]:
        n_workers = alphas.shape[0]

        def negative_q(params: FloatArray) -> tuple[float, FloatArray]:
            a, b = params[:n_workers], params[n_workers:]
            easiness = np.exp(b)[enc.task]
            x = a[enc.worker] * easiness
            value = np.sum(
                q_correct * log_expit(x) + (1.0 - q_correct) * (log_expit(-x) - log_others)
            )
            value -= 0.5 * (np.sum((a - mu_a) ** 2) + np.sum((b - mu_b) ** 2))
            dx = q_correct - expit(x)
            grad_a = np.bincount(enc.worker, weights=dx * easiness, minlength=n_workers) - (
                a - mu_a
            )
            grad_b = np.bincount(enc.task, weights=dx * x, minlength=b.shape[0]) - (b - mu_b)
            return -float(value), -np.concatenate([grad_a, grad_b])

        result = minimize(
            negative_q,
            np.concatenate([alphas, betas]),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.m_step_max_iter, "gtol": self.m_step_tol},
        )
        params = np.asarray(result.x, dtype=np.float64)
        return params[:n_workers], params[n_workers:], -float(result.fun)


def _prior_means(value: float | pd.Series[Any] | None, index: pd.Index) -> FloatArray:
    """Per-entity prior means: 1.0 by default (as in crowd-kit), a number, or a Series."""
    if value is None:
        return np.ones(len(index))
    if isinstance(value, pd.Series):
        return value.reindex(index).fillna(1.0).to_numpy(dtype=np.float64)
    return np.full(len(index), float(value))
