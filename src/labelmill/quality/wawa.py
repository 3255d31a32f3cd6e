"""Wawa: majority vote weighted by each worker's agreement with the plain majority."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from ._encoding import encode
from ._numeric import argmax_first, normalize_rows, vote_counts
from ._skills import agreement_rate
from .base import BaseClassificationAggregator


class Wawa(BaseClassificationAggregator):
    r"""Worker Agreement With Aggregate (Wawa).

    Two passes: a plain majority vote :math:`\hat y^{MV}_t`, then each worker's skill
    :math:`w_j = \frac{1}{|T_j|}\sum_{t \in T_j} [y_{tj} = \hat y^{MV}_t]`, then a majority vote
    weighted by :math:`w_j`. ``probas_`` are the normalized weighted scores.

    Reference: the "worker agreement with aggregate" score of Appen/Figure Eight, as implemented in
    crowd-kit (D. Ustalov, N. Pavlichenko, B. Tseitlin, "Learning from Crowds with Crowd-Kit",
    JOSS 9(96), 2024).
    """

    skills_: pd.Series[Any]
    """Agreement of each worker with the plain majority vote (indexed by ``worker``)."""

    def fit(self, data: pd.DataFrame) -> Self:
        """Run the two voting passes."""
        enc = encode(data)
        votes = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels)
        majority = argmax_first(votes)
        skills = agreement_rate(enc, majority)
        weights = np.nan_to_num(skills.to_numpy())[enc.worker]
        scores = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels, weights)
        self._set_result(enc, normalize_rows(scores))
        self.skills_ = skills
        return self
