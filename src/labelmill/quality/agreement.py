"""Chance-corrected agreement between annotators on categorical labels.

All functions take long-format answers (columns ``task``, ``worker``, ``label``) except
:func:`cohens_kappa`, which compares two aligned sequences. Only tasks with at least two answers
carry information about agreement; the others are ignored.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ._encoding import encode
from ._numeric import FloatArray, vote_counts


def _task_label_counts(data: pd.DataFrame) -> FloatArray:
    """(tasks x labels) answer counts, keeping tasks with at least two answers."""
    enc = encode(data)
    counts = vote_counts(enc.task, enc.label, enc.n_tasks, enc.n_labels)
    pairable: FloatArray = counts[counts.sum(axis=1) >= 2]
    return pairable


def percent_agreement(data: pd.DataFrame) -> float:
    r"""Mean over tasks of the fraction of agreeing answer pairs.

    For a task with :math:`n_k` answers of class :math:`k` and :math:`n = \sum_k n_k \ge 2`,
    :math:`P = \sum_k n_k (n_k - 1) / (n (n - 1))`. NaN when no task has two answers.
    """
    counts = _task_label_counts(data)
    if counts.shape[0] == 0:
        return float("nan")
    n = counts.sum(axis=1)
    return float(np.mean((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))))


def fleiss_kappa(data: pd.DataFrame) -> float:
    r"""Fleiss' kappa, generalized to a varying number of answers per task.

    :math:`\kappa = (\bar P - P_e) / (1 - P_e)` with :math:`\bar P` the mean per-task pairwise
    agreement (:func:`percent_agreement`) and :math:`P_e = \sum_k p_k^2`, :math:`p_k` the share of
    class :math:`k` among all answers. With a constant number of answers per task this is exactly
    J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological Bulletin
    76(5), 1971. NaN when undefined (no task with two answers, or a single class: :math:`P_e=1`).
    """
    counts = _task_label_counts(data)
    if counts.shape[0] == 0:
        return float("nan")
    n = counts.sum(axis=1)
    observed = float(np.mean((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float(np.sum(shares**2))
    if np.isclose(expected, 1.0):
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def cohens_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float:
    r"""Cohen's kappa between two annotators' labels on the same items (aligned sequences).

    :math:`\kappa = (p_o - p_e) / (1 - p_e)`, :math:`p_o` the fraction of equal pairs and
    :math:`p_e = \sum_k p^a_k p^b_k` from each annotator's own class shares. J. Cohen, "A
    coefficient of agreement for nominal scales", Educational and Psychological Measurement
    20(1), 1960. NaN when undefined (no items, or both annotators always give the same class).
    """
    if len(labels_a) != len(labels_b):
        raise ValueError("labels_a and labels_b must have the same length")
    if len(labels_a) == 0:
        return float("nan")
    codes, _ = pd.factorize(pd.Series(list(labels_a) + list(labels_b)))
    a, b = codes[: len(labels_a)], codes[len(labels_a) :]
    n_classes = int(codes.max()) + 1
    observed = float(np.mean(a == b))
    share_a = np.bincount(a, minlength=n_classes) / a.size
    share_b = np.bincount(b, minlength=n_classes) / b.size
    expected = float(share_a @ share_b)
    if np.isclose(expected, 1.0):
        return float("nan")
    return (observed - expected) / (1.0 - expected)
