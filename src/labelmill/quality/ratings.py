"""Numeric ratings: task means corrected for each worker's bias (harshness or leniency)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._numeric import FloatArray, bincount_sum

#: Degrees of freedom (pseudo-ratings) of the prior on a task's residual variance.
VARIANCE_PRIOR_DOF = 2.0


@dataclass(frozen=True, slots=True)
class RatingResult:
    """Outcome of :func:`aggregate_ratings`."""

    values: pd.Series[Any]
    """Bias-corrected mean rating of each task (indexed by ``task``)."""
    stderr: pd.Series[Any]
    """Standard error of that mean: the task's residual spread, shrunk towards the spread of
    all ratings by a prior worth 2 ratings (see :func:`aggregate_ratings`), over
    sqrt(number of ratings); never 0, even for a single rating."""
    confidence: pd.Series[Any]
    """``1 / (1 + stderr / scale)``, with ``scale`` the spread of all ratings: 1/2 for a single
    rating, rising with more agreeing ratings, falling as they disagree."""
    bias: pd.Series[Any]
    """Each worker's estimated offset (positive: rates higher than others)."""
    shrinkage: float = float("nan")
    """The shrinkage ``sigma^2 / tau^2`` of the last round (``inf``: no worker bias
    detected, so the values are plain means)."""


def aggregate_ratings(
    data: pd.DataFrame,
    *,
    n_iter: int = 50,
    tol: float = 1e-9,
    shrinkage: float | Literal["auto"] = "auto",
) -> RatingResult:
    r"""Aggregate numeric ratings (columns ``task``, ``worker``, ``label`` numeric).

    Additive model :math:`r_{tj} = \mu_t + b_j + \varepsilon_{tj}` with a random worker bias
    :math:`b_j \sim N(0, \tau^2)` and noise :math:`\varepsilon_{tj} \sim N(0, \sigma^2)`,
    fitted by alternating updates: :math:`\mu_t` = mean over the task of
    :math:`r_{tj} - b_j`, then each bias is its posterior mean given the current
    :math:`\mu`,

    .. math:: b_j = \frac{\sum_t (r_{tj} - \mu_t)}{n_j + \lambda}, \qquad
              \lambda = \sigma^2 / \tau^2,

    so a worker with :math:`n_j` ratings keeps the share :math:`n_j / (n_j + \lambda)` of
    their raw offset: a worker seen a few times is barely corrected. With ``shrinkage="auto"``
    (default) :math:`\lambda` is estimated from the data in each round (empirical Bayes,
    method of moments): :math:`\hat\sigma^2` = residual sum of squares over its degrees of
    freedom :math:`N - T - W`, and the raw offsets :math:`\bar e_j = \sum_t (r_{tj} -
    \mu_t) / n_j` have variance :math:`\tau^2 + \sigma^2 / n_j`, so
    :math:`\hat\tau^2 = \max(0, \operatorname{var}_j \bar e_j - \operatorname{mean}_j
    \hat\sigma^2 / n_j)`. When the offsets are no wider than noise would make them,
    :math:`\hat\tau^2 = 0`, every bias is 0 and the estimate is the plain mean: the
    correction is only applied where the data show that workers really differ. (An earlier
    fixed :math:`\lambda = 1` fitted every worker's noise as bias and did slightly worse
    than the mean on real data.) A number for ``shrinkage`` fixes :math:`\lambda` instead.
    (:math:`\hat\sigma^2` uses the residuals after each worker's full raw offset, so bias
    not yet modelled is never counted as noise.) The model is only defined up to a shift;
    biases are centred so that their mean weighted by :math:`n_j` is 0, which leaves the
    average of the corrected ratings equal to the average of the raw ones (an unweighted
    centre would move every estimate when prolific workers are lenient or harsh). Stops when
    no bias moves by more than ``tol``.

    Uncertainty: a task with :math:`n_t` ratings and residual sum of squares :math:`S_t` gets
    the posterior residual variance

    .. math:: \tilde\sigma_t^2 = \frac{d_0 s_0^2 + S_t}{d_0 + n_t - 1},

    the conjugate scaled-inverse-:math:`\chi^2` prior (as in A. Gelman et al., "Bayesian Data
    Analysis", 3rd ed., section 3.3) worth :math:`d_0` = ``VARIANCE_PRIOR_DOF`` (2)
    pseudo-ratings, centred on :math:`s_0^2` = the variance of all ratings (before seeing a
    task's raters, their disagreement is assumed as wide as the whole scale's spread). Then
    ``stderr`` = :math:`\tilde\sigma_t / \sqrt{n_t}` and ``confidence`` =
    :math:`1 / (1 + \text{stderr} / s_0)`. A single rating has confidence 1/2, two equal
    ratings :math:`1 / (1 + \sqrt{d_0 / (2 (d_0 + 1))}) \approx 0.63`, three equal ratings
    :math:`1 / (1 + \sqrt{d_0 / (3 (d_0 + 2))}) \approx 0.71`; disagreement (a larger
    :math:`S_t`) lowers it. With the same number of ratings on every task, the ranking by
    confidence is the ranking by :math:`S_t / s_0^2`, as without the prior.

    References: the shrunk "global effects" of R. M. Bell, Y. Koren, "Scalable Collaborative
    Filtering with Jointly Derived Neighborhood Interpolation Weights", ICDM 2007; the
    moment estimate of the between-group variance as in C. N. Morris, "Parametric Empirical
    Bayes Inference: Theory and Applications", JASA 78(381), 1983.
    """
    frame = data[["task", "worker", "label"]].dropna()
    task, tasks = pd.factorize(frame["task"])
    worker, workers = pd.factorize(frame["worker"])
    score = frame["label"].to_numpy(dtype=np.float64)
    n_t = np.bincount(task, minlength=len(tasks)).astype(np.float64)
    n_w = np.bincount(worker, minlength=len(workers)).astype(np.float64)
    bias = np.zeros(len(workers))
    mean = np.zeros(len(tasks))
    lam = np.inf if shrinkage == "auto" else float(shrinkage)
    for _ in range(n_iter if score.size else 0):
        mean = bincount_sum(task, score - bias[worker], len(tasks)) / n_t
        offset = bincount_sum(worker, score - mean[task], len(workers))
        if shrinkage == "auto":
            # Noise is what is left after each worker's full (unshrunk) offset is removed, so
            # that bias not yet modelled is not mistaken for noise (which would make tau^2 = 0
            # a fixed point from the all-zero start).
            raw = offset / n_w
            lam = _shrinkage(score - mean[task] - raw[worker], raw, n_w, len(tasks))
        new_bias = offset / (n_w + lam) if np.isfinite(lam) else np.zeros(len(workers))
        new_bias -= np.average(new_bias, weights=n_w)
        moved = float(np.abs(new_bias - bias).max())
        bias = new_bias
        if moved < tol:
            break
    if score.size:
        mean = bincount_sum(task, score - bias[worker], len(tasks)) / n_t
    residual = score - mean[task] - bias[worker] if score.size else score
    sum_sq = bincount_sum(task, residual**2, len(tasks))
    scale = float(score.std()) if score.size > 1 and score.std() > 0 else 1.0
    dof0 = VARIANCE_PRIOR_DOF
    spread = np.sqrt((dof0 * scale**2 + sum_sq) / (dof0 + np.maximum(n_t - 1.0, 0.0)))
    stderr = spread / np.sqrt(np.maximum(n_t, 1.0))
    index = pd.Index(tasks, name="task")
    return RatingResult(
        values=pd.Series(mean, index=index, name="value"),
        stderr=pd.Series(stderr, index=index, name="stderr"),
        confidence=pd.Series(1.0 / (1.0 + stderr / scale), index=index, name="confidence"),
        bias=pd.Series(bias, index=pd.Index(workers, name="worker"), name="bias"),
        shrinkage=float(lam),
    )


def _shrinkage(residual: FloatArray, raw: FloatArray, n_w: FloatArray, n_tasks: int) -> float:
    """Moment estimate of sigma^2 / tau^2 (see :func:`aggregate_ratings`); inf when the
    workers' raw offsets are no more spread out than noise alone makes them."""
    dof = residual.size - n_tasks - raw.size
    if dof <= 0 or raw.size < 2:
        # No replication left to tell bias from noise: do not correct.
        return float("inf")
    sigma2 = float(residual @ residual) / dof
    tau2 = float(np.var(raw, ddof=1) - np.mean(sigma2 / n_w))
    if tau2 <= 0.0:
        return float("inf")
    return sigma2 / tau2
