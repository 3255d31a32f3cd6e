"""Semi-supervised Dawid-Skene: tasks with a known answer are clamped to it."""

from __future__ import annotations

from typing import Any, Self

import pandas as pd

from .dawid_skene import DawidSkene


class GoldDawidSkene(DawidSkene):
    r"""Dawid-Skene with gold (known) answers for some tasks.

    Same model and EM as :class:`DawidSkene`, except that in every E-step the posterior of a task
    with a gold answer :math:`g_t` is clamped to the one-hot vector :math:`q_{tk} = [k = g_t]`.
    Gold tasks thus estimate the confusion matrices as in supervised learning, and the rest are
    inferred as usual; gold labels never seen in ``data`` still become classes. A gold entry for a
    task absent from ``data`` is ignored; a missing (NaN) gold value means "unknown".

    Reference: A. P. Dawid, A. M. Skene (1979), section 4 (partially known true responses); the
    clamping scheme is the one of crowd-kit's ``DawidSkene.fit(true_labels=...)``.
    """

    def fit(self, data: pd.DataFrame, gold: pd.Series[Any] | None = None) -> Self:
        """Fit by EM; ``gold`` maps task id to its known label."""
        return super().fit(data, gold)
