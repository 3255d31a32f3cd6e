"""Rankings: Borda count consensus per task, with Kendall's W as the confidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class RankingResult:
    """Outcome of :func:`aggregate_rankings`."""

    rankings: pd.Series[Any]
    """Consensus ranking of each task, best first (a list, indexed by ``task``)."""
    confidence: pd.Series[Any]
    """Kendall's coefficient of concordance W of the task's rankings (1: identical)."""


def _kendalls_w(ranks: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """W for an (raters x items) matrix of ranks; NaN entries (unranked) are mid-ranked."""
    m, n = ranks.shape
    if m < 2 or n < 2:
        return 1.0
    totals = ranks.sum(axis=0)
    s = float(np.sum((totals - totals.mean()) ** 2))
    return float(12.0 * s / (m * m * (n**3 - n)))


def aggregate_rankings(data: pd.DataFrame) -> RankingResult:
    r"""Aggregate rankings: columns ``task``, ``worker``, ``label`` (a list, best first).

    Borda count: in a ranking of :math:`n` items, position :math:`p` (0 = best) earns
    :math:`n - 1 - p` points; items a worker left out share the mean of the remaining points.
    The consensus orders items by total points (ties by first appearance). Confidence is
    Kendall's W, :math:`12 S / (m^2 (n^3 - n))` over the :math:`m` rankings of the task's
    :math:`n` items (1 for a single ranking).

    References: J.-C. de Borda, "Memoire sur les elections au scrutin", 1781; M. G. Kendall,
    B. Babington Smith, "The Problem of m Rankings", Ann. Math. Statist. 10(3), 1939.
    """
    frame = data[["task", "worker", "label"]].dropna()
    out_rank: dict[Any, list[Any]] = {}
    out_conf: dict[Any, float] = {}
    for task, group in frame.groupby("task", sort=False):
        lists = [list(r) for r in group["label"]]
        items = list(dict.fromkeys(x for r in lists for x in r))
        n = len(items)
        where = {x: i for i, x in enumerate(items)}
        points = np.zeros((len(lists), n))
        ranks = np.zeros((len(lists), n))
        for row, ranking in enumerate(lists):
            placed = np.zeros(n, dtype=bool)
            for position, item in enumerate(ranking):
                points[row, where[item]] = n - 1 - position
                ranks[row, where[item]] = position + 1
                placed[where[item]] = True
            left_out = n - len(ranking)
            if left_out:
                points[row, ~placed] = (left_out - 1) / 2.0  # mean of points 0..left_out-1
                ranks[row, ~placed] = len(ranking) + (left_out + 1) / 2.0
        order = np.argsort(-points.sum(axis=0), kind="stable")
        out_rank[task] = [items[i] for i in order]
        out_conf[task] = _kendalls_w(ranks)
    index = pd.Index(list(out_rank), name="task")
    return RankingResult(
        rankings=pd.Series(list(out_rank.values()), index=index, name="ranking", dtype=object),
        confidence=pd.Series(list(out_conf.values()), index=index, name="confidence", dtype=float),
    )
