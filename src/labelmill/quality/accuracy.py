"""Per-worker accuracy against a reference labelling, with Wilson confidence intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._numeric import FloatArray


def wilson_interval(
    successes: FloatArray, trials: FloatArray, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    r"""Wilson score interval for a binomial proportion, element-wise.

    With :math:`\hat p = x/n` and :math:`z` the two-sided normal quantile,

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + z^2/n}.

    Unlike the normal (Wald) interval it stays inside [0, 1] and is sensible for a worker with
    three answers or a perfect score. ``n = 0`` gives the uninformative interval [0, 1].
    E. B. Wilson, "Probable inference, the law of succession, and statistical inference", JASA
    22(158), 1927.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    z = float(norm.ppf(0.5 + confidence / 2.0))
    n = np.asarray(trials, dtype=np.float64)
    x = np.asarray(successes, dtype=np.float64)
    safe_n = np.where(n > 0, n, 1.0)
    p = x / safe_n
    denominator = 1.0 + z * z / safe_n
    centre = (p + z * z / (2.0 * safe_n)) / denominator
    half = z * np.sqrt(p * (1.0 - p) / safe_n + z * z / (4.0 * safe_n * safe_n)) / denominator
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def worker_accuracy(
    data: pd.DataFrame, reference: pd.Series[Any], confidence: float = 0.95
) -> pd.DataFrame:
    """Accuracy of each worker against ``reference`` (task -> label): gold, or an aggregate.

    Only answers on tasks present in ``reference`` count. Returns a DataFrame indexed by
    ``worker`` with columns ``n`` (answers scored), ``correct``, ``accuracy`` (NaN when ``n`` is
    0) and the Wilson interval ``ci_low``/``ci_high`` at the given ``confidence``. Workers with
    no scored answer are listed with ``n = 0`` so the table covers the whole crowd.

    Scoring against an aggregate that the worker's own answers helped build flatters them a
    little, most for tasks with few answers; gold has no such bias.
    """
    frame = data[["task", "worker", "label"]]
    truth = frame["task"].map(reference)
    scored = truth.notna()
    hit = (frame["label"] == truth) & scored
    grouped = (
        pd.DataFrame(
            {
                "worker": frame["worker"],
                "n": scored.astype(np.int64),
                "correct": hit.astype(np.int64),
            }
        )
        .groupby("worker", sort=False)[["n", "correct"]]
        .sum()
    )
    n = grouped["n"].to_numpy(dtype=np.float64)
    correct = grouped["correct"].to_numpy(dtype=np.float64)
    low, high = wilson_interval(correct, n, confidence)
    accuracy = np.full(n.shape, np.nan)
    np.divide(correct, n, out=accuracy, where=n > 0)
    result = pd.DataFrame(
        {
            "n": grouped["n"].to_numpy(),
            "correct": grouped["correct"].to_numpy(),
            "accuracy": accuracy,
            "ci_low": low,
            "ci_high": high,
        },
        index=grouped.index.rename("worker"),
    )
    return result
