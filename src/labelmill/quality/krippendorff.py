"""Krippendorff's alpha: agreement for any number of coders, missing data and several scales."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ._numeric import FloatArray, vote_counts

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def _distance(values: FloatArray, marginals: FloatArray, level: Level) -> FloatArray:
    """Squared difference function delta^2(c, k) between every pair of values."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        nominal: FloatArray = (c != k).astype(np.float64)
        return nominal
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        total = c + k
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(total == 0, 0.0, (c - k) / np.where(total == 0, 1.0, total))
        return ratio**2
    if level == "ordinal":
        # delta(c, k) = (sum of n_g for g from c to k, minus half of n_c and n_k)^2, by rank.
        cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
        i = np.arange(values.size)
        lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
        between = cumulative[hi + 1] - cumulative[lo]
        ordinal: FloatArray = (between - (marginals[lo] + marginals[hi]) / 2.0) ** 2
        return ordinal
    raise ValueError(f"unknown level {level!r}")


def krippendorff_alpha(data: pd.DataFrame, level: Level = "nominal") -> float:
    r"""Krippendorff's alpha of long-format answers (columns ``task``, ``worker``, ``label``).

    Missing answers are simply absent rows. Units (tasks) with fewer than two answers are not
    pairable and are dropped. With :math:`n_{uc}` the number of answers :math:`c` in unit
    :math:`u` and :math:`m_u = \sum_c n_{uc}`, the coincidence matrix is
    :math:`o_{ck} = \sum_u (n_{uc} n_{uk} - [c=k]\,n_{uc}) / (m_u - 1)`, with marginals
    :math:`n_c` and total :math:`n`; then

    .. math:: \alpha = 1 - (n - 1)\,\frac{\sum_{c,k} o_{ck}\,\delta^2_{ck}}
                                         {\sum_{c,k} n_c n_k\,\delta^2_{ck}}.

    ``level`` picks :math:`\delta^2`: nominal :math:`[c \ne k]`; interval :math:`(c-k)^2`;
    ratio :math:`((c-k)/(c+k))^2`; ordinal :math:`(\sum_{g=c}^{k} n_g - (n_c+n_k)/2)^2` over
    ranks. Labels must be numeric for interval and ratio, and sortable for ordinal. NaN when
    undefined (no pairable unit, or no variation at all).

    Reference: K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", University of
    Pennsylvania, 2011 (https://repository.upenn.edu/asc_papers/43).
    """
    frame = data[["task", "worker", "label"]].dropna()
    units, _ = pd.factorize(frame["task"])
    codes, values = pd.factorize(frame["label"], sort=True)
    n_units, n_values = int(units.max(initial=-1)) + 1, len(values)
    counts = vote_counts(units.astype(np.intp), codes.astype(np.intp), n_units, n_values)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if counts.shape[0] == 0:
        return float("nan")
    weighted = counts / (m - 1)[:, None]
    coincidence = counts.T @ weighted - np.diag(weighted.sum(axis=0))
    marginals = coincidence.sum(axis=0)
    n = marginals.sum()
    numeric = (
        values.to_numpy(dtype=np.float64)
        if level in ("interval", "ratio")
        else np.arange(n_values, dtype=np.float64)
    )
    delta = _distance(numeric, marginals, level)
    disagreement = float(np.sum(coincidence * delta))
    expected = float(marginals @ delta @ marginals)
    if expected == 0.0:
        return float("nan")
    return 1.0 - (float(n) - 1.0) * disagreement / expected
