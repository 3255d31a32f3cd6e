"""Numeric ratings: task means corrected for each worker's bias (harshness or leniency)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._numeric import bincount_sum

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


def aggregate_ratings(
    data: pd.DataFrame, *, n_iter: int = 50, tol: float = 1e-9, shrinkage: float = 1.0
) -> RatingResult:
    r"""Aggregate numeric ratings (columns ``task``, ``worker``, ``label`` numeric).

    Additive model :math:`r_{tj} = \mu_t + b_j + \varepsilon`, fitted by alternating least
    squares: :math:`\mu_t` = mean over the task of :math:`r_{tj} - b_j`, then
    :math:`b_j = \sum_t (r_{tj} - \mu_t) / (n_j + \lambda)` with ``shrinkage`` :math:`\lambda`
    pulling the biases of workers with few ratings towards 0; biases are centred to mean 0 (the
    model is only defined up to a shift). Stops when no bias moves by more than ``tol``.

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

    Reference: the "global effects" baseline of R. M. Bell, Y. Koren, "Scalable Collaborative
    Filtering with Jointly Derived Neighborhood Interpolation Weights", ICDM 2007.
    """
    frame = data[["task", "worker", "label"]].dropna()
    task, tasks = pd.factorize(frame["task"])
    worker, workers = pd.factorize(frame["worker"])
    score = frame["label"].to_numpy(dtype=np.float64)
    n_t = np.bincount(task, minlength=len(tasks)).astype(np.float64)
    n_w = np.bincount(worker, minlength=len(workers)).astype(np.float64)
    bias = np.zeros(len(workers))
    mean = np.zeros(len(tasks))
    for _ in range(n_iter if score.size else 0):
        mean = bincount_sum(task, score - bias[worker], len(tasks)) / n_t
        new_bias = bincount_sum(worker, score - mean[task], len(workers)) / (n_w + shrinkage)
        new_bias -= new_bias.mean()
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
    )
