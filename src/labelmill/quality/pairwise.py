"""Pairwise preferences: weighted vote per pair and Bradley-Terry scores across items."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import betainc, expit, log_expit

from ._numeric import FloatArray, bincount_sum

#: Pseudo-votes per side of the uniform Beta(1, 1) prior behind :func:`vote_confidence`: the
#: prior is worth two answers in all (Bayes-Laplace), so one vote alone cannot give certainty.
VOTE_PRIOR = 1.0


def vote_confidence(
    votes_for: ArrayLike, votes_against: ArrayLike, *, threshold: float = 0.5
) -> FloatArray:
    r"""Posterior probability that the decision the votes made is the population's decision.

    Let :math:`\theta` be the share of (weighted) answers that would support a decision if
    every worker answered. With a Beta(``VOTE_PRIOR``, ``VOTE_PRIOR``) prior and :math:`a`
    votes for, :math:`b` against (weights count as fractional votes),
    :math:`\theta \mid a, b \sim \mathrm{Beta}(1 + a, 1 + b)`, and the confidence is

    .. math:: P(\theta > t \mid a, b) = I_{1-t}(1 + b, 1 + a)

    (:math:`I` the regularized incomplete beta function, :math:`t` = ``threshold``). With
    :math:`t = 1/2`: one vote gives 0.75, two agreeing 0.875, three 0.9375, ``n`` agreeing
    :math:`1 - 2^{-(n+1)}`; a 2-1 split 0.6875 and an even split 0.5. It rises with agreement
    and with the amount of agreeing evidence, and tends to 1 only as the evidence grows.
    """
    a = np.maximum(np.asarray(votes_for, dtype=np.float64), 0.0)
    b = np.maximum(np.asarray(votes_against, dtype=np.float64), 0.0)
    out: FloatArray = np.asarray(
        betainc(VOTE_PRIOR + b, VOTE_PRIOR + a, 1.0 - threshold), dtype=np.float64
    )
    return out


@dataclass(frozen=True, slots=True)
class PairwiseResult:
    """Outcome of :func:`aggregate_pairwise`."""

    pairs: pd.DataFrame
    """One row per unordered pair (``left``, ``right``, the first-seen order): ``winner``
    (an item, or ``None`` for a tie) and ``confidence``: the posterior probability that the
    winner is the side most workers prefer, :func:`vote_confidence` of the weighted votes for
    and against it (0.5 for a tie; 0.75 for a single vote); and ``bt_probability``, the
    Bradley-Terry probability sigma(s_left - s_right) that ``left`` beats ``right`` given all
    comparisons (:func:`bt_probability`; unlike the vote confidence it draws on the other pairs
    of the same items, and it still ranks pairs whose votes are equal)."""
    scores: pd.Series[Any]
    """Bradley-Terry log-strength of every item (indexed by ``item``), mean 0."""


def bradley_terry(
    winners: pd.Series[Any],
    losers: pd.Series[Any],
    *,
    weights: FloatArray | None = None,
    l2: float = 0.01,
) -> pd.Series[Any]:
    r"""Maximum a-posteriori Bradley-Terry strengths from (winner, loser) comparisons.

    :math:`P(i \succ j) = \sigma(s_i - s_j)`; maximizes
    :math:`\sum w \log\sigma(s_{win} - s_{lose}) - \frac{\lambda}{2}\lVert s\rVert^2` by L-BFGS
    with the analytic gradient. The small ridge :math:`\lambda` (``l2``) keeps strengths finite
    for an item that never lost and fixes the scale's free shift. A tie can be passed as half a
    win each way (two rows with weight 0.5).

    Reference: R. A. Bradley, M. E. Terry, "Rank Analysis of Incomplete Block Designs: I. The
    Method of Paired Comparisons", Biometrika 39(3/4), 1952.
    """
    codes, items = pd.factorize(pd.concat([winners, losers], ignore_index=True))
    n = len(winners)
    win, lose = codes[:n], codes[n:]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    n_items = len(items)

    def objective(s: FloatArray) -> tuple[float, FloatArray]:
        diff = s[win] - s[lose]
        value = float(np.sum(w * log_expit(diff))) - 0.5 * l2 * float(s @ s)
        g = np.asarray(w * expit(-diff), dtype=np.float64)  # d/d diff of log sigma(diff)
        grad = bincount_sum(win, g, n_items) - bincount_sum(lose, g, n_items) - l2 * s
        return -value, -grad

    if n_items == 0:
        return pd.Series(dtype="float64", name="score")
    result = minimize(objective, np.zeros(n_items), jac=True, method="L-BFGS-B")
    scores = np.asarray(result.x, dtype=np.float64)
    scores -= scores.mean()
    return pd.Series(scores, index=pd.Index(items, name="item"), name="score")


def aggregate_pairwise(
    data: pd.DataFrame, *, skills: Mapping[Hashable, float] | None = None
) -> PairwiseResult:
    r"""Aggregate pairwise choices: columns ``worker``, ``left``, ``right``, ``label``.

    ``label`` is the preferred item (equal to ``left`` or ``right``) or missing for a tie.
    Each pair's winner is a vote weighted by worker ``skills`` (default 1 each; a tie gives
    half a vote to each side); an exact tie of weights is reported as a tie (winner ``None``).
    All comparisons, ties as half wins, also fit :func:`bradley_terry` scores.

    Confidence of a pair with :math:`v_w` votes for the winner and :math:`v_l` for the other
    side: :math:`P(\theta > 1/2)` for :math:`\theta \sim \mathrm{Beta}(1 + v_w, 1 + v_l)`
    (:func:`vote_confidence`; a uniform prior worth two votes). One vote gives 0.75, two
    agreeing 0.875, three 0.9375; a 2-1 split 0.6875; a tie 0.5. Skills scale the votes, so a
    vote weighted 0.8 is less evidence than a vote weighted 1.
    """
    frame = data[["worker", "left", "right", "label"]]
    weight = (
        frame["worker"].map(skills).fillna(1.0).to_numpy(dtype=np.float64)
        if skills is not None
        else np.ones(len(frame))
    )
    # Canonical unordered pair key: first-seen orientation.
    key = [frozenset((a, b)) for a, b in zip(frame["left"], frame["right"], strict=True)]
    pair, pair_keys = pd.factorize(pd.Series(key, dtype=object))
    first = pd.Series(range(len(frame))).groupby(pair).first().to_numpy(dtype=np.intp)
    left = frame["left"].to_numpy(dtype=object)[first]
    right = frame["right"].to_numpy(dtype=object)[first]
    label = frame["label"].to_numpy(dtype=object)
    is_tie = pd.isna(frame["label"]).to_numpy()
    # A decided vote goes to the side named; a tie gives half a vote to each side.
    share_left = np.where(is_tie, 0.5, (label == left[pair]).astype(np.float64))
    share_right = np.where(is_tie, 0.5, (label == right[pair]).astype(np.float64))
    for_left = np.asarray(share_left * weight, dtype=np.float64)
    for_right = np.asarray(share_right * weight, dtype=np.float64)
    n_pairs = len(pair_keys)
    votes_left = bincount_sum(pair, for_left, n_pairs)
    votes_right = bincount_sum(pair, for_right, n_pairs)
    winner = [
        a if vl > vr else b if vr > vl else None
        for a, b, vl, vr in zip(left, right, votes_left, votes_right, strict=True)
    ]
    confidence = vote_confidence(
        np.maximum(votes_left, votes_right), np.minimum(votes_left, votes_right)
    )
    pairs = pd.DataFrame({"left": left, "right": right, "winner": winner, "confidence": confidence})
    # Bradley-Terry over every comparison; a tie counts as half a win each way.
    lab_left = frame["left"].to_numpy(dtype=object)
    lab_right = frame["right"].to_numpy(dtype=object)
    decided = ~is_tie
    loser = np.where(label == lab_left, lab_right, lab_left)
    winners = np.concatenate([label[decided], lab_left[is_tie], lab_right[is_tie]])
    losers = np.concatenate([loser[decided], lab_right[is_tie], lab_left[is_tie]])
    bt_weight = np.concatenate([weight[decided], 0.5 * weight[is_tie], 0.5 * weight[is_tie]])
    scores = bradley_terry(
        pd.Series(winners, dtype=object), pd.Series(losers, dtype=object), weights=bt_weight
    )
    pairs["bt_probability"] = bt_probability(scores, left, right)
    return PairwiseResult(pairs=pairs, scores=scores)


def bt_probability(scores: pd.Series[Any], left: ArrayLike, right: ArrayLike) -> FloatArray:
    r"""Bradley-Terry probability that ``left`` beats ``right``: :math:`\sigma(s_l - s_r)`.

    ``scores`` are log-strengths indexed by item (as :func:`bradley_terry`,
    :attr:`PairwiseResult.scores` and ``CrowdBT.scores_`` give them); ``left`` and ``right``
    are items or equal-length arrays of items, compared or not. An item without a score counts
    as 0, the mean strength: nothing is known about it.
    """
    lf = pd.Index(np.atleast_1d(np.asarray(left, dtype=object)))
    rt = pd.Index(np.atleast_1d(np.asarray(right, dtype=object)))
    if len(lf) != len(rt):
        raise ValueError(f"right: {len(rt)} items for {len(lf)} on the left")
    s_l = scores.reindex(lf).fillna(0.0).to_numpy(dtype=np.float64)
    s_r = scores.reindex(rt).fillna(0.0).to_numpy(dtype=np.float64)
    out: FloatArray = np.asarray(expit(s_l - s_r), dtype=np.float64)
    return out
