"""Rankings: Borda count and Kemeny consensus per task, with a confidence per task."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._numeric import FloatArray
from .kemeny import EXACT_MAX_ITEMS, kemeny_consensus, order_cost


@dataclass(frozen=True, slots=True)
class RankingResult:
    """Outcome of :func:`aggregate_rankings`."""

    rankings: pd.Series[Any]
    """Consensus ranking of each task, best first (a list, indexed by ``task``)."""
    confidence: pd.Series[Any]
    """Borda: Kendall's coefficient of concordance W of the task's rankings (1: identical).
    Kemeny: the mean over item pairs of the vote posterior that the consensus orders the pair
    as the population would (see :func:`aggregate_rankings`)."""
    agreement: pd.Series[Any] | None = None
    """Weighted share of the workers' pairwise preferences (a tie counts half) that the
    consensus keeps: 1 - distance / total pair weight (Kendall's tau = 2 agreement - 1)."""
    distance: pd.Series[Any] | None = None
    """Total weighted Kendall tau distance from the consensus to the task's rankings, a tied
    pair costing 1/2 (the Kemeny objective, :func:`~labelmill.quality.kemeny.order_cost`;
    lower is better)."""


def _kendalls_w(ranks: FloatArray) -> float:
    """W for an (raters x items) matrix of ranks; tied or unranked items are mid-ranked."""
    m, n = ranks.shape
    if m < 2 or n < 2:
        return 1.0
    totals = ranks.sum(axis=0)
    s = float(np.sum((totals - totals.mean()) ** 2))
    return float(12.0 * s / (m * m * (n**3 - n)))


def _tiers(label: Any, task: Any) -> list[list[Any]]:
    """A label as tiers, best first: ``[2, 0, 1]`` or ``[[2], [0, 1]]`` (or a mix)."""
    if isinstance(label, str | bytes) or not isinstance(label, Sequence | np.ndarray):
        raise ValueError(f"label of task {task!r}: a ranking must be a list, got {label!r}")
    tiers = [
        list(entry) if isinstance(entry, list | tuple | np.ndarray) else [entry] for entry in label
    ]
    flat = [x for tier in tiers for x in tier]
    if len(set(flat)) != len(flat):
        raise ValueError(f"label of task {task!r}: an item appears twice in {label!r}")
    if any(not tier for tier in tiers):
        raise ValueError(f"label of task {task!r}: empty tier in {label!r}")
    return tiers


def _tier_positions(tiers: list[list[Any]], where: Mapping[Any, int], n: int) -> FloatArray:
    """Mean 0-based position of each item; items left out share the bottom positions."""
    pos = np.full(n, np.nan)
    start = 0
    for tier in tiers:
        for item in tier:
            pos[where[item]] = start + (len(tier) - 1) / 2.0
        start += len(tier)
    left_out = np.isnan(pos)
    pos[left_out] = start + (n - start - 1) / 2.0
    return pos


def preference_matrix(positions: FloatArray, weights: FloatArray) -> FloatArray:
    r"""Weighted pairwise preferences of ranked lists.

    ``positions`` is (rankings x items), lower = better, equal = tied; returns :math:`P` with
    :math:`P_{ij} = \sum_r w_r ([\mathrm{pos}_{ri} < \mathrm{pos}_{rj}] + \tfrac12
    [\mathrm{pos}_{ri} = \mathrm{pos}_{rj}])` for :math:`i \ne j` and 0 on the diagonal.
    """
    above = positions[:, :, None] < positions[:, None, :]
    tied = positions[:, :, None] == positions[:, None, :]
    matrix: FloatArray = np.einsum("r,rij->ij", weights, above + 0.5 * tied)
    np.fill_diagonal(matrix, 0.0)
    return matrix


def _weights(frame: pd.DataFrame, skills: Mapping[Hashable, float] | None) -> FloatArray:
    if skills is None:
        return np.ones(len(frame))
    weight = np.asarray(frame["worker"].map(skills).fillna(1.0), dtype=np.float64)
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError("skills: every weight must be a finite number >= 0")
    return weight


def aggregate_rankings(
    data: pd.DataFrame,
    *,
    method: Literal["borda", "kemeny"] = "borda",
    skills: Mapping[Hashable, float] | None = None,
    exact_max: int = EXACT_MAX_ITEMS,
) -> RankingResult:
    r"""Aggregate rankings: columns ``task``, ``worker``, ``label`` (a ranking, best first).

    A label is a list of items (``[2, 0, 1]``) or of tiers of tied items (``[[2], [0, 1]]``),
    or a mix. Items a worker left out are tied below the ones they ranked. ``skills`` maps a
    worker to a non-negative weight (default 1; workers missing from it weigh 1).

    ``method="borda"`` (the default): in a ranking of :math:`n` items, position :math:`p`
    (0 = best) earns :math:`n - 1 - p` points and tied items share the mean of their
    positions' points (so items left out share the mean of the remaining points); the
    consensus orders items by total (skill-weighted) points, ties by first appearance.
    Confidence is Kendall's W, :math:`12 S / (m^2 (n^3 - n))` over the :math:`m` rankings of
    the task's :math:`n` items (tied items mid-ranked, unweighted; 1 for a single ranking).

    ``method="kemeny"``: the order of :func:`~labelmill.quality.kemeny_consensus`, minimising
    the total weighted Kendall tau distance :math:`\sum_r w_r d(\pi, \sigma_r)` to the
    rankings (a tie costing 1/2; exact for at most ``exact_max`` items, else Borda improved by
    single-item insertions). Confidence: that of
    :func:`~labelmill.quality.kemeny_consensus`, the weakest adjacent decision of the
    consensus (:func:`~labelmill.quality.pairwise.vote_confidence` of the weight for it
    against the weight against it), as the ``ranking`` task type uses. Unlike W it accounts
    for how much evidence there is: one ranking gives 0.75, :math:`m` identical rankings
    :math:`1 - 2^{-(m+1)}`, and a pair the workers split pulls it towards 1/2; W is 1 for a
    single ranking, which would stop a dynamic-overlap rule after the first answer.

    Both methods also return ``agreement`` and ``distance`` (see :class:`RankingResult`).

    References: J.-C. de Borda, "Memoire sur les elections au scrutin", 1781; M. G. Kendall,
    B. Babington Smith, "The Problem of m Rankings", Ann. Math. Statist. 10(3), 1939;
    J. G. Kemeny, "Mathematics without numbers", Daedalus 88, 1959.
    """
    if method not in ("borda", "kemeny"):
        raise ValueError(f"method: expected 'borda' or 'kemeny', got {method!r}")
    missing = {"task", "worker", "label"} - set(data.columns)
    if missing:
        raise ValueError(f"data: missing column(s) {sorted(missing)}")
    frame = data[["task", "worker", "label"]]
    keep = frame["task"].notna() & frame["worker"].notna() & ~frame["label"].map(_isna_scalar)
    frame = frame[keep.to_numpy(dtype=bool)]
    weight_all = _weights(frame, skills)
    out_rank: dict[Any, list[Any]] = {}
    out_conf: dict[Any, float] = {}
    out_agree: dict[Any, float] = {}
    out_dist: dict[Any, float] = {}
    positions_in_frame = np.arange(len(frame))
    for task, rows in pd.Series(positions_in_frame).groupby(frame["task"].to_numpy(), sort=False):
        idx = rows.to_numpy()
        tiers = [_tiers(frame["label"].iat[i], task) for i in idx]
        weights = weight_all[idx]
        items = list(dict.fromkeys(x for t in tiers for tier in t for x in tier))
        n = len(items)
        where = {x: i for i, x in enumerate(items)}
        positions = np.array([_tier_positions(t, where, n) for t in tiers]).reshape(len(idx), n)
        points = (n - 1 - positions) * weights[:, None]
        borda = [int(i) for i in np.argsort(-points.sum(axis=0), kind="stable")]
        matrix = preference_matrix(positions, weights)
        if method == "kemeny":
            # One Kemeny implementation (kemeny.py); the same first-appearance item order.
            consensus = kemeny_consensus(tiers, list(weights), exact_max=exact_max)
            order = [where[x] for x in consensus.order]
            out_conf[task] = consensus.confidence
        else:
            order = borda
            out_conf[task] = _kendalls_w(positions + 1.0)
        cost = order_cost(order, matrix)
        total = float(np.triu(matrix + matrix.T, 1).sum())
        out_rank[task] = [items[i] for i in order]
        out_dist[task] = cost
        out_agree[task] = 1.0 - cost / total if total > 0 else 1.0
    index = pd.Index(list(out_rank), name="task")
    return RankingResult(
        rankings=pd.Series(list(out_rank.values()), index=index, name="ranking", dtype=object),
        confidence=pd.Series(list(out_conf.values()), index=index, name="confidence", dtype=float),
        agreement=pd.Series(list(out_agree.values()), index=index, name="agreement", dtype=float),
        distance=pd.Series(list(out_dist.values()), index=index, name="distance", dtype=float),
    )


def _isna_scalar(value: Any) -> bool:
    """True for a missing scalar label (NaN/None/NA); a list is never missing."""
    if value is None:
        return True
    if isinstance(value, list | tuple | np.ndarray):
        return False
    return bool(pd.isna(value))
