"""Kemeny-style rank aggregation: the order closest to the workers' rankings in Kendall tau.

A ranking is a list best first whose entries are items, or tiers of items that tie
(``[[2], [0, 1]]``: 2 first, 0 and 1 tied after it). Items a worker left out form one tier
after all the items that worker ranked, as in :func:`labelmill.quality.aggregate_rankings`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._numeric import FloatArray
from .pairwise import vote_confidence

#: Largest number of items for which the optimum is found exactly (dynamic programming over
#: the 2^n subsets, O(2^n n^2) time): 8 items cost about 16k steps, 12 would cost 600k per task.
EXACT_MAX_ITEMS = 8

#: Improvements smaller than this are rounding noise; accepting them could make local search
#: cycle between orders of equal cost.
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class KemenyConsensus:
    """Consensus of one task's rankings (see :func:`kemeny_consensus`)."""

    order: list[Any]
    """The consensus, best first, one item per place."""
    tiers: list[list[Any]]
    """The same order with adjacent items the weighted preferences cannot separate (equal
    weight each way) merged into one tier."""
    distance: float
    """Total worker-weighted Kendall tau distance from the consensus to the rankings."""
    normalized_distance: float
    """``distance`` over (total weight x number of item pairs): 0 when every ranking equals
    the consensus, 1 when every ranking is its reverse."""
    confidence: float
    """Weakest adjacent decision: the least :func:`vote_confidence` of the weight putting an
    item above its successor in the consensus against the weight putting it below."""
    exact: bool
    """True when the order is a proven optimum (at most ``exact_max`` items)."""


@dataclass(frozen=True, slots=True)
class KemenyResult:
    """Outcome of :func:`kemeny_rankings`."""

    rankings: pd.Series[Any]
    """Consensus ranking of each task, best first (a list, indexed by ``task``)."""
    confidence: pd.Series[Any]
    """:attr:`KemenyConsensus.confidence` of each task."""
    distance: pd.Series[Any]
    """:attr:`KemenyConsensus.normalized_distance` of each task."""
    exact: pd.Series[Any]
    """Whether each task's consensus is a proven optimum."""


def _as_tiers(ranking: Sequence[Any]) -> list[list[Any]]:
    """Entries that are collections are tiers; any other entry is an item alone in its tier."""
    return [
        list(entry) if isinstance(entry, list | tuple | set | frozenset | np.ndarray) else [entry]
        for entry in ranking
    ]


def preference_weights(
    rankings: Sequence[Sequence[Any]], weights: Sequence[float] | None = None
) -> tuple[list[Any], FloatArray]:
    r"""Items (in order of first appearance) and the matrix :math:`P`.

    :math:`P_{ij}` is the weight of the rankings that put item :math:`i` above :math:`j` plus
    half the weight of those that tie them (or leave both out). Placing :math:`i` above
    :math:`j` in the consensus then costs :math:`P_{ji}`, which is Kendall's distance with
    the tie penalty 1/2 (R. Fagin, R. Kumar, M. Mahdian, D. Sivakumar, E. Vee, "Comparing and
    Aggregating Rankings with Ties", PODS 2004).
    """
    tiered = [_as_tiers(r) for r in rankings]
    items = list(dict.fromkeys(x for r in tiered for tier in r for x in tier))
    where = {x: i for i, x in enumerate(items)}
    n = len(items)
    w = np.ones(len(tiered)) if weights is None else np.asarray(weights, dtype=np.float64)
    p = np.zeros((n, n))
    for tiers, weight in zip(tiered, w, strict=True):
        # Left-out items share the place after the last tier.
        level = np.full(n, float(len(tiers)))
        for t, tier in enumerate(tiers):
            level[[where[x] for x in tier]] = t
        above = level[:, None] < level[None, :]
        tied = level[:, None] == level[None, :]
        p += weight * (above + 0.5 * tied)
    np.fill_diagonal(p, 0.0)
    return items, p


def order_cost(order: Sequence[int], p: FloatArray) -> float:
    """Total weighted Kendall distance of ``order`` (item indices, best first): the sum of
    :math:`P_{ji}` over every pair with :math:`i` placed above :math:`j`."""
    idx = np.asarray(order, dtype=np.intp)
    sub = p[np.ix_(idx, idx)]
    return float(np.tril(sub, -1).sum())


def _exact_order(p: FloatArray) -> list[int]:
    r"""Optimal order by dynamic programming over the sets of items placed first.

    :math:`D(S)` = least cost of ordering the set :math:`S` as the top :math:`|S|` places;
    appending :math:`k \notin S` costs :math:`\sum_{j \notin S \cup \{k\}} P_{jk}` (every item
    still to come is placed below :math:`k`). Ties go to the smaller item index, so the result
    depends on the items' order of appearance, never on their names.
    """
    n = len(p)
    full = (1 << n) - 1
    cost = np.full(1 << n, np.inf)
    choice = np.zeros(1 << n, dtype=np.intp)
    cost[0] = 0.0
    col = p.sum(axis=0)  # col[k] = sum_j P[j, k]
    # below[S, k] = sum over j in S of P[j, k], built from the lowest set bit of each S.
    below = np.zeros((1 << n, n))
    for s in range(1, 1 << n):
        low = (s & -s).bit_length() - 1
        below[s] = below[s & (s - 1)] + p[low]
    for s in range(full):
        if not np.isfinite(cost[s]):
            continue
        rest = full & ~s
        for k in range(n):
            if rest >> k & 1:
                step = col[k] - below[s, k]  # P[j, k] over the j not yet placed (P[k, k] = 0)
                t = s | (1 << k)
                if cost[s] + step < cost[t] - _EPS:
                    cost[t] = cost[s] + step
                    choice[t] = k
    order: list[int] = []
    s = full
    while s:
        k = int(choice[s])
        order.append(k)
        s &= ~(1 << k)
    return order[::-1]


def _local_search(p: FloatArray, start: Sequence[int]) -> list[int]:
    """Best-improvement single-item insertion (adjacent swaps included) until no move helps.

    Moving the item at place ``a`` below the items at places ``a+1..b`` changes the cost by
    :math:`\\sum (P_{xy} - P_{yx})` over those items ``y``; moving it above ``b..a-1`` by the
    negative of the same sum over them. Every accepted move lowers the cost, so it stops.
    """
    order = list(start)
    n = len(order)
    d = p - p.T
    improved = True
    while improved:
        improved = False
        for a in range(n):
            x = order[a]
            row = d[x, order]
            down = np.cumsum(row[a + 1 :])  # move to place a+1, a+2, ...
            up = np.cumsum(-row[:a][::-1])  # move to place a-1, a-2, ...
            best_down = int(np.argmin(down)) if down.size else -1
            best_up = int(np.argmin(up)) if up.size else -1
            gain_down = float(down[best_down]) if down.size else 0.0
            gain_up = float(up[best_up]) if up.size else 0.0
            if min(gain_down, gain_up) < -_EPS:
                del order[a]
                if gain_down <= gain_up:
                    order.insert(a + 1 + best_down, x)
                else:
                    order.insert(a - 1 - best_up, x)
                improved = True
                break
    return order


def kemeny_consensus(
    rankings: Sequence[Sequence[Any]],
    weights: Sequence[float] | None = None,
    *,
    exact_max: int = EXACT_MAX_ITEMS,
) -> KemenyConsensus:
    r"""Kemeny consensus of one task's rankings (flat lists or tiers, best first).

    Minimizes the worker-weighted Kendall tau distance

    .. math:: K(\pi) = \sum_{i \succ_\pi j} P_{ji}

    (:func:`preference_weights`; a tie in a ranking costs 1/2 either way). For at most
    ``exact_max`` items the optimum is exact (:func:`_exact_order`); above that the search
    starts from the weighted Borda order (items by :math:`\sum_j P_{ij}`) and applies
    single-item insertions, which include adjacent transpositions, while any lowers
    :math:`K`. The result is then locally Kemeny-optimal in the sense of Dwork et al., and
    satisfies the extended Condorcet criterion.

    Confidence: the consensus is wrong if any adjacent pair is in the wrong order, and
    adjacent pairs are exactly the ones local optimality leaves contestable, so the confidence
    is the least, over adjacent pairs :math:`(a, b)`, of :func:`vote_confidence`
    :math:`(P_{ab}, P_{ba})`: the posterior probability (uniform prior worth two votes) that
    most of the population would also put :math:`a` above :math:`b`. One ranking gives 0.75,
    :math:`m` unanimous rankings :math:`1 - 2^{-(m+1)}`; a pair the weights cannot separate
    gives 0.5. A single item gets confidence 1 (nothing to order); no ranking at all, 0.

    References: J. G. Kemeny, "Mathematics without Numbers", Daedalus 88(4), 1959;
    C. Dwork, R. Kumar, M. Naor, D. Sivakumar, "Rank Aggregation Methods for the Web", WWW 2001.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("give one weight per ranking")
    items, p = preference_weights(rankings, weights)
    n = len(items)
    total = float(np.sum(weights)) if weights is not None else float(len(rankings))
    if n == 0:
        return KemenyConsensus([], [], 0.0, 0.0, 0.0, True)
    exact = n <= exact_max
    if exact:
        order = _exact_order(p)
    else:
        borda = np.argsort(-p.sum(axis=1), kind="stable")
        order = _local_search(p, [int(i) for i in borda])
    distance = order_cost(order, p)
    pairs = n * (n - 1) / 2
    normalized = distance / (total * pairs) if pairs and total > 0 else 0.0
    tiers: list[list[Any]] = [[items[order[0]]]]
    confidence = 1.0 if total > 0 else 0.0
    for a, b in zip(order, order[1:], strict=False):
        confidence = min(confidence, float(vote_confidence(p[a, b], p[b, a])))
        if abs(p[a, b] - p[b, a]) <= _EPS:
            tiers[-1].append(items[b])
        else:
            tiers.append([items[b]])
    return KemenyConsensus(
        order=[items[i] for i in order],
        tiers=tiers,
        distance=distance,
        normalized_distance=normalized,
        confidence=confidence,
        exact=exact,
    )


def kemeny_rankings(
    data: pd.DataFrame,
    *,
    skills: Mapping[Hashable, float] | None = None,
    exact_max: int = EXACT_MAX_ITEMS,
) -> KemenyResult:
    """Kemeny consensus per task: columns ``task``, ``worker``, ``label`` (a ranking, best
    first: items or tiers of items). ``skills`` weights each worker's ranking (default 1; a
    worker missing from it also counts 1). See :func:`kemeny_consensus` for the maths and the
    confidence."""
    frame = data[["task", "worker", "label"]].dropna()
    weight = (
        frame["worker"].map(skills).fillna(1.0).to_numpy(dtype=np.float64)
        if skills is not None
        else np.ones(len(frame))
    )
    tasks: list[Any] = []
    results: list[KemenyConsensus] = []
    codes, uniques = pd.factorize(frame["task"])
    labels = frame["label"].to_numpy(dtype=object)
    by_task = pd.Series(np.arange(len(frame))).groupby(codes, sort=True).indices
    for code, task in enumerate(uniques):
        rows = by_task[code]
        tasks.append(task)
        results.append(
            kemeny_consensus([labels[r] for r in rows], list(weight[rows]), exact_max=exact_max)
        )
    index = pd.Index(tasks, name="task")
    return KemenyResult(
        rankings=pd.Series([r.order for r in results], index=index, name="ranking", dtype=object),
        confidence=pd.Series(
            [r.confidence for r in results], index=index, name="confidence", dtype=float
        ),
        distance=pd.Series(
            [r.normalized_distance for r in results], index=index, name="distance", dtype=float
        ),
        exact=pd.Series([r.exact for r in results], index=index, name="exact", dtype=bool),
    )
