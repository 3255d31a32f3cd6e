"""The contract every categorical aggregator follows (crowd-kit compatible).

Hyper-parameters go in the constructor; ``fit(data)`` learns and returns ``self``; learned state
lives in attributes ending in ``_``. ``data`` is a long-format DataFrame with one row per answer
and columns ``task``, ``worker`` and ``label``.
"""

from __future__ import annotations

from typing import Any, Self

import pandas as pd

from ._encoding import EncodedLabels
from ._numeric import FloatArray, IntArray, argmax_first


class BaseClassificationAggregator:
    """Base class of the categorical aggregators.

    Subclasses implement :meth:`fit`; it must set the two attributes below (through
    :meth:`_set_result`) and return ``self``.
    """

    labels_: pd.Series[Any]
    """Most likely true label of each task: a Series indexed by ``task`` (named ``agg_label``)."""

    probas_: pd.DataFrame
    """Posterior distribution of each task's true label: tasks x labels, rows sum to 1."""

    def fit(self, data: pd.DataFrame) -> Self:
        """Learn from ``data`` (columns ``task``, ``worker``, ``label``) and return ``self``."""
        raise NotImplementedError

    def fit_predict(self, data: pd.DataFrame) -> pd.Series[Any]:
        """Fit, then return :attr:`labels_`."""
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        """Fit, then return :attr:`probas_`."""
        return self.fit(data).probas_

    def _set_result(self, enc: EncodedLabels, probas: FloatArray) -> IntArray:
        """Decode a (tasks x labels) posterior into :attr:`probas_` and :attr:`labels_`.

        Returns the code of the chosen label of each task.
        """
        self.probas_ = pd.DataFrame(probas, index=enc.tasks, columns=enc.labels, copy=False)
        best = argmax_first(probas)
        self.labels_ = pd.Series(enc.labels.take(best), index=enc.tasks, name="agg_label")
        return best

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and k[0] != "_"
        )
        return f"{type(self).__name__}({params})"
