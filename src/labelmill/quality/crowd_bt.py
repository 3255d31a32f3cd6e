"""Crowd-BT: Bradley-Terry scores across items with a reliability per worker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from ._numeric import FloatArray, bincount_sum
from .pairwise import bradley_terry, bt_probability

#: Floor for a comparison's likelihood before its log: a worker the model believes perfectly
#: reliable would otherwise turn one surprising answer into log(0).
_LIKELIHOOD_FLOOR = 1e-300


class CrowdBT:
    r"""Crowd-BT: Bradley-Terry with a reliability :math:`\eta_w` per worker.

    Worker :math:`w` reports the preference the items' strengths imply with probability
    :math:`\eta_w` and the reverse otherwise:

    .. math:: P(w \text{ says } i \succ j) = \eta_w \sigma(s_i - s_j)
              + (1 - \eta_w) \sigma(s_j - s_i).

    :math:`\eta_w \approx 1` is a careful worker, :math:`1/2` a random one and
    :math:`\eta_w < 1/2` an adversarial one, whose answers count as evidence for the
    opposite. The fit maximizes the posterior

    .. math:: \sum_k \omega_k \log P(w_k \text{ says } a_k \succ b_k)
              - \frac{\lambda}{2} \lVert s \rVert^2
              + \sum_w \left[(\alpha - 1)\log\eta_w + (\beta - 1)\log(1 - \eta_w)\right]

    jointly over scores and reliabilities by L-BFGS with the analytic gradient
    (:math:`\eta = \sigma(u)` keeps it unconstrained). The Beta(:math:`\alpha, \beta`) prior,
    :math:`\alpha = 1 + m k`, :math:`\beta = 1 + (1 - m) k`, has its mode at
    :math:`m` = ``prior_mean`` (0.8: most crowd workers are mostly right) and is worth
    :math:`k` = ``prior_strength`` pseudo-answers, so a worker with few answers stays near it,
    while one who contradicts the consensus on many comparisons moves below 1/2. The prior
    also breaks the model's mirror symmetry (:math:`s \to -s`, :math:`\eta \to 1 - \eta`),
    and the fit starts from the plain Bradley-Terry scores with every :math:`\eta` at the
    prior's mode. A tie counts as half a comparison each way (weight :math:`\omega_k = 1/2`).

    The ridge :math:`\lambda` = ``l2`` (default 1) is a standard normal prior on the scores
    (the unit-variance Gaussian that the paper's online updates start each item from). It
    matters more here than in plain Bradley-Terry: as :math:`|s_i - s_j|` grows,
    :math:`P \to \eta_w`, so without it the model can explain disagreement as worker noise
    around ever more separated items; the scores drift apart and the order of items with few
    comparisons becomes arbitrary.

    Reference: X. Chen, P. N. Bennett, K. Collins-Thompson, E. Horvitz, "Pairwise Ranking
    Aggregation in a Crowdsourced Setting", WSDM 2013 (fitted there by online Bayesian
    moment matching; here by batch MAP).
    """

    def __init__(
        self,
        *,
        l2: float = 1.0,
        prior_mean: float = 0.8,
        prior_strength: float = 10.0,
        max_iter: int = 500,
        tol: float = 1e-9,
        seed: int = 0,
    ) -> None:
        if not 0.5 < prior_mean < 1.0:
            raise ValueError("prior_mean must be in (0.5, 1): it decides which way is 'better'")
        self.l2 = l2
        self.prior_mean = prior_mean
        self.prior_strength = prior_strength
        self.max_iter = max_iter
        self.tol = tol
        #: Seeds the tiny jitter added to the starting scores, so that a perfectly balanced
        #: data set (all Bradley-Terry scores 0, a saddle point) still has a gradient.
        self.seed = seed

    def fit(self, data: pd.DataFrame) -> CrowdBT:
        """Fit on columns ``worker``, ``left``, ``right``, ``label`` (the preferred item, equal
        to ``left`` or ``right``, or missing for a tie)."""
        frame = data[["worker", "left", "right", "label"]]
        left = frame["left"].to_numpy(dtype=object)
        right = frame["right"].to_numpy(dtype=object)
        label = frame["label"].to_numpy(dtype=object)
        tie = pd.isna(frame["label"]).to_numpy()
        bad = ~tie & (label != left) & (label != right)
        if bad.any():
            raise ValueError("label must be the left item, the right item or missing (a tie)")
        # Each row becomes one comparison (winner, loser); a tie becomes two of weight 1/2.
        loser = np.where(label == left, right, left)
        winners = np.concatenate([label[~tie], left[tie], right[tie]])
        losers = np.concatenate([loser[~tie], right[tie], left[tie]])
        weight = np.concatenate([np.ones(int((~tie).sum())), np.full(2 * int(tie.sum()), 0.5)])
        workers_all = frame["worker"].to_numpy(dtype=object)
        who = np.concatenate([workers_all[~tie], workers_all[tie], workers_all[tie]])

        codes, items = pd.factorize(pd.Series(np.concatenate([winners, losers]), dtype=object))
        n = len(winners)
        win, lose = codes[:n], codes[n:]
        worker, workers = pd.factorize(pd.Series(who, dtype=object))
        n_items, n_workers = len(items), len(workers)
        # The MAP ignores the prior's spread and keeps its mode, so the mode is what is set to
        # prior_mean: a worker with no answers gets exactly prior_mean.
        alpha = 1.0 + self.prior_mean * self.prior_strength
        beta = 1.0 + (1.0 - self.prior_mean) * self.prior_strength
        l2 = self.l2

        def objective(x: FloatArray) -> tuple[float, FloatArray]:
            s, u = x[:n_items], x[n_items:]
            eta = expit(u)
            d = s[win] - s[lose]
            sig = expit(d)
            e = eta[worker]
            p = np.maximum(1.0 - sig + e * (2.0 * sig - 1.0), _LIKELIHOOD_FLOOR)
            value = float(np.sum(weight * np.log(p))) - 0.5 * l2 * float(s @ s)
            value += float(np.sum((alpha - 1) * np.log(eta) + (beta - 1) * np.log1p(-eta)))
            g_d = weight * (2.0 * e - 1.0) * sig * (1.0 - sig) / p
            g_s = bincount_sum(win, g_d, n_items) - bincount_sum(lose, g_d, n_items) - l2 * s
            g_eta = bincount_sum(worker, weight * (2.0 * sig - 1.0) / p, n_workers)
            g_u = g_eta * eta * (1.0 - eta) + (alpha - 1) * (1.0 - eta) - (beta - 1) * eta
            return -value, -np.concatenate([g_s, g_u])

        rng = np.random.default_rng(self.seed)
        start_scores = bradley_terry(
            pd.Series(winners, dtype=object), pd.Series(losers, dtype=object), weights=weight
        ).reindex(items)
        x0 = np.concatenate(
            [
                start_scores.to_numpy(dtype=np.float64) + rng.normal(0.0, 1e-3, n_items),
                np.full(n_workers, np.log(self.prior_mean / (1.0 - self.prior_mean))),
            ]
        )
        self.loss_history_: list[float] = []
        if n_items:
            result = minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                callback=lambda xk: self.loss_history_.append(objective(xk)[0]),
                options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-8},
            )
            x = np.asarray(result.x, dtype=np.float64)
        else:
            x = x0
        # Centred (the likelihood ignores a common shift); no items, nothing to centre.
        scores = x[:n_items] - x[:n_items].mean() if n_items else x[:0]
        self.scores_: pd.Series[Any] = pd.Series(
            scores, index=pd.Index(items, name="item"), name="score"
        )
        self.reliabilities_: pd.Series[Any] = pd.Series(
            expit(x[n_items:]), index=pd.Index(workers, name="worker"), name="reliability"
        )
        # One row per distinct (left, right) as first given: the model's P(left beats right).
        # With the answer (the likelier side; None when the scores are equal) and its
        # probability as the confidence: an answer and a confidence per pair, as the vote has.
        pairs = frame[["left", "right"]].drop_duplicates(ignore_index=True)
        prob = bt_probability(self.scores_, pairs["left"], pairs["right"])
        winner = [
            lf if q > 0.5 else rt if q < 0.5 else None
            for lf, rt, q in zip(pairs["left"], pairs["right"], prob, strict=True)
        ]
        self.pair_probabilities_: pd.DataFrame = pairs.assign(
            probability=prob,
            winner=pd.Series(winner, index=pairs.index, dtype=object),
            confidence=np.maximum(prob, 1.0 - prob),
        )
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series[Any]:
        """Fit, then return :attr:`scores_` (log-strengths, mean 0, higher is better)."""
        return self.fit(data).scores_

    def predict_proba(self, left: Any, right: Any) -> FloatArray:
        """:math:`P(\\text{left} \\succ \\text{right})` for fitted items (see
        :func:`~labelmill.quality.bt_probability`); the true preference, without any worker's
        noise."""
        return bt_probability(self.scores_, left, right)
