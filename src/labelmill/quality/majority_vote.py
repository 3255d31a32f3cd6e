"""Majority vote, optionally weighted by per-worker skills."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from ._encoding import encode
from ._numeric import normalize_rows, vote_counts
from ._skills import agreement_rate
from .base import BaseClassificationAggregator


class MajorityVote(BaseClassificationAggregator):
    r"""Majority vote: each task gets the label most workers gave it.

    With worker weights :math:`w_j` (``skills`` in :meth:`fit`) the score of label :math:`k` on
    task :math:`t` is :math:`s_{tk} = \sum_{j:\,y_{tj}=k} w_j`; without them every
    :math:`w_j = 1`. ``probas_`` is :math:`s_{tk} / \sum_k s_{tk}` (uniform when all weights on a
    task are zero) and ``labels_`` its argmax; an exact tie goes to the class that comes first in
    label order, as in crowd-kit. ``skills_`` is each worker's agreement with the result.

    Reference: the plurality rule is the baseline of every truth-inference survey, e.g.
    Y. Zheng, G. Li, Y. Li, C. Shan, R. Cheng, "Truth Inference in Crowdsourcing: Is the Problem
    Solved?", PVLDB 10(5), 2017.
    """

    skills_: pd.Series[Any]
    """Fraction of each worker's answers that agree with ``labels_`` (indexed by ``worker``)."""

    def __init__(self, default_skill: float | None = None) -> None:
        #: Weight of a worker missing from ``skills`` (``None``: such a worker is an error).
        self.default_skill = default_skill

    def fit(self, data: pd.DataFrame, skills: pd.Series[Any] | None = None) -> Self:
        """Count (weighted) votes per task; ``skills`` maps worker id to vote weight."""
        enc = encode(data)
        weights = None
        if skills is not None:
            w = skills.reindex(enc.workers).to_numpy(dtype=np.float64)
            if np.isnan(w).any():
                if self.default_skill is None:
                    unknown = list(enc.workers[np.isnan(w)][:5])
                    raise ValueError(f"no skill for workers {unknown}; set default_skill")
                w = np.where(np.isnan(w), self.default_skill, w)
            weights = w[enc.worker]
        scores = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels, weights)
        best = self._set_result(enc, normalize_rows(scores))
        self.skills_ = agreement_rate(enc, best)
        return self

    def fit_predict(
        self, data: pd.DataFrame, skills: pd.Series[Any] | None = None
    ) -> pd.Series[Any]:
        """Fit, then return :attr:`labels_`."""
        return self.fit(data, skills).labels_

    def fit_predict_proba(
        self, data: pd.DataFrame, skills: pd.Series[Any] | None = None
    ) -> pd.DataFrame:
        """Fit, then return :attr:`probas_`."""
        return self.fit(data, skills).probas_
