"""Zero-Based Skill: weighted majority vote with skills learned by gradient steps."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from ._encoding import encode
from ._numeric import argmax_first, normalize_rows, vote_counts
from ._skills import agreement_rate
from .base import BaseClassificationAggregator


class ZeroBasedSkill(BaseClassificationAggregator):
    r"""Zero-Based Skill (ZBS): alternate weighted voting and a damped skill update.

    Skills start at :math:`w_j = 1/K + \epsilon`. Each iteration takes a majority vote weighted
    by :math:`w`, measures each worker's accuracy :math:`a_j` against it, and moves
    :math:`w_j \leftarrow w_j + \eta\,(a_j - w_j)`; the learning rate :math:`\eta` starts at
    ``lr_init`` and is multiplied by ``lr_reduce_factor`` every ``lr_steps_to_reduce``
    iterations. Stops after ``n_iter`` iterations or when no skill moves by more than ``tol``.

    Reference: the ZBS method of crowd-kit (D. Ustalov, N. Pavlichenko, B. Tseitlin, "Learning
    from Crowds with Crowd-Kit", JOSS 9(96), 2024).
    """

    skills_: pd.Series[Any]
    """Learned vote weight (an accuracy estimate) of each worker."""

    loss_history_: list[float]
    """Largest absolute skill change at each iteration."""

    def __init__(
        self,
        n_iter: int = 100,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
        tol: float = 1e-9,
    ) -> None:
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps
        self.tol = tol

    def fit(self, data: pd.DataFrame) -> Self:
        """Alternate weighted votes and skill updates."""
        enc = encode(data)
        skills = np.full(enc.n_workers, 1.0 / max(enc.n_labels, 1) + self.eps)
        lr = self.lr_init
        self.loss_history_ = []
        for iteration in range(1, self.n_iter + 1):
            if iteration % self.lr_steps_to_reduce == 0:
                lr *= self.lr_reduce_factor
            scores = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels, skills[enc.worker])
            best = argmax_first(scores)
            accuracy = np.nan_to_num(agreement_rate(enc, best).to_numpy())
            step = lr * (accuracy - skills)
            skills = skills + step
            change = float(np.abs(step).max()) if step.size else 0.0
            self.loss_history_.append(change)
            if change < self.tol:
                break
        scores = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels, skills[enc.worker])
        self._set_result(enc, normalize_rows(scores))
        self.skills_ = pd.Series(skills, index=enc.workers, name="skill")
        return self
