"""Numerical building blocks shared by the EM aggregators.

Kept separate so that each aggregator module reads as its algorithm: an E-step and an M-step.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Floor for probabilities before taking logs: log(0) would make a single zero-count cell veto a
#: class forever, and EM could never recover from it.
PROB_FLOOR = 1e-10


#: Row sums of ``exp(scores)`` inside these bounds are computed without shifting: the largest
#: term is then a normal float far from overflow, so nothing is lost to underflow or rounding.
_EXP_SUM_LOW, _EXP_SUM_HIGH = 1e-280, 1e280


def softmax_rows(
    log_scores: FloatArray, offsets: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Row-normalize ``exp(log_scores + offsets)`` without overflow; also return each row's
    log-sum-exp.

    Products of many probabilities underflow, so scores live in log space. ``offsets`` (one per
    column, e.g. log priors) is added to every row.
    """
    probas_t, log_norm = softmax_classes(log_scores, offsets)
    return np.ascontiguousarray(probas_t.T), log_norm


def softmax_classes(
    log_scores: FloatArray, offsets: FloatArray | None = None, out: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """:func:`softmax_rows`, with the posteriors returned in (columns x rows) layout.

    The work is done on the (classes x tasks) transpose: element-wise passes and reductions over
    a handful of long contiguous rows are several times faster than over millions of rows of
    length K. Rows whose ``exp`` sums stay well inside the float range (the usual case: a few
    answers per task) are normalized directly; the others are shifted by their maximum before
    exponentiating, which keeps the largest term at exp(0) = 1, changes nothing after
    normalization and keeps every row finite. ``out``, a C-contiguous (columns x rows) array,
    receives the result: EM loops reuse one buffer instead of touching fresh memory every time.
    """
    n_rows, n_cols = log_scores.shape
    if log_scores.size == 0:
        return np.zeros((n_cols, n_rows)), np.zeros(n_rows)
    work = np.empty((n_cols, n_rows)) if out is None else out
    if offsets is not None:
        np.add(log_scores.T, offsets[:, None], out=work)
    else:
        np.copyto(work, log_scores.T)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(work, out=work)
    row_sum = work.sum(axis=0)
    safe = (row_sum > _EXP_SUM_LOW) & (row_sum < _EXP_SUM_HIGH)
    if safe.all():
        work /= row_sum
        return work, np.log(row_sum)
    rest = np.flatnonzero(~safe)
    shifted = np.array(log_scores[rest].T, order="C")
    if offsets is not None:
        shifted += offsets[:, None]
    row_max = shifted.max(axis=0)
    shifted -= row_max
    np.exp(shifted, out=shifted)
    rest_sum = shifted.sum(axis=0)
    shifted /= rest_sum
    row_sum[rest] = 1.0
    work /= row_sum
    work[:, rest] = shifted
    log_norm = np.log(row_sum)
    log_norm[rest] = row_max + np.log(rest_sum)
    return work, log_norm


def incidence(rows: IntArray, cols: IntArray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """Sparse count matrix ``M[r, c] = #{i : rows[i] == r and cols[i] == c}`` in CSR form.

    The matrix is built once per fit; every EM iteration is then a sparse-dense product, which
    runs in C over the non-zeros instead of a Python-level group-by. Repeated (r, c) pairs may
    stay as separate entries: products add them up all the same.
    """
    big = max(n_rows, n_cols, rows.shape[0]) >= 2**31 - 1
    index_dtype = np.int64 if big else np.int32
    data = np.ones(rows.shape[0], dtype=np.float64)
    if rows.shape[0] and np.all(rows[1:] >= rows[:-1]):
        # Already grouped by row (the usual layout of exported labels): build CSR directly,
        # skipping the sort that the generic constructor does.
        indptr = np.zeros(n_rows + 1, dtype=index_dtype)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return sp.csr_matrix(
            (data, cols.astype(index_dtype, copy=False), indptr), shape=(n_rows, n_cols)
        )
    return sp.csr_matrix(
        (data, (rows.astype(index_dtype, copy=False), cols.astype(index_dtype, copy=False))),
        shape=(n_rows, n_cols),
    )


def column_sums(matrix: FloatArray) -> FloatArray:
    """Sum of each column of a (tasks x classes) matrix.

    On a tall, narrow C-ordered array ``matrix.sum(axis=0)`` is several times slower than
    ``einsum``, and this runs once per EM iteration. (Not BLAS ``ones @ matrix``: its worker
    threads spin and burn more CPU than they save on an operation this small.)
    """
    sums: FloatArray = np.einsum("ij->j", matrix)
    return sums


def row_sums(matrix: FloatArray) -> FloatArray:
    """Sum of each row of a (tasks x classes) matrix (see :func:`column_sums`)."""
    sums: FloatArray = np.einsum("ij->i", matrix)
    return sums


def bincount_sum(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """``out[k] = sum(weights[index == k])`` for ``k < size``, always as float64."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)


def scatter_match_scores(
    task: IntArray,
    label: IntArray,
    n_tasks: int,
    n_labels: int,
    log_match: FloatArray,
    log_mismatch: FloatArray,
) -> FloatArray:
    """Per-task log-likelihood under a "one-coin" answer model.

    Answer ``i`` contributes ``log_match[i]`` to the class it names and ``log_mismatch[i]`` to
    every other class. Written as ``sum(log_mismatch)`` for all classes plus the difference on
    the named class, it is two ``bincount`` calls, whatever the number of classes.
    """
    base = bincount_sum(task, log_mismatch, n_tasks)
    bonus = bincount_sum(task * n_labels + label, log_match - log_mismatch, n_tasks * n_labels)
    bonus = bonus.reshape(n_tasks, n_labels)
    return bonus + base[:, None]


def argmax_first(scores: FloatArray) -> IntArray:
    """Row-wise argmax; an exact tie goes to the class that comes first in label order.

    This is crowd-kit's rule (``DataFrame.idxmax``), kept so that switching libraries does not
    change a single answer; it is deterministic, so results never depend on a random seed.
    """
    n_rows, n_cols = scores.shape
    if n_rows == 0 or n_cols == 0:
        return np.zeros(n_rows, dtype=np.intp)
    # np.argmax along rows of length K is slow; on the (K x rows) transpose, take the maximum,
    # then count for each row the leading classes that fall short of it: that is the index of
    # the first class reaching it. (Masked writes are slower than this counting.)
    columns = np.ascontiguousarray(scores.T)
    best_score = columns.max(axis=0)
    if np.isnan(best_score).any():  # NaN counts as the maximum for np.argmax; keep its rule
        nan_best: IntArray = np.argmax(scores, axis=1).astype(np.intp)
        return nan_best
    counter: NDArray[np.integer] = np.zeros(n_rows, dtype=np.int8 if n_cols <= 127 else np.intp)
    short = np.ones(n_rows, dtype=bool)
    below = np.empty(n_rows, dtype=bool)
    for k in range(n_cols - 1):
        np.not_equal(columns[k], best_score, out=below)
        short &= below
        counter += short
    best: IntArray = counter.astype(np.intp, copy=False)
    return best


def vote_counts(
    task: IntArray, label: IntArray, n_tasks: int, n_labels: int, weights: FloatArray | None = None
) -> FloatArray:
    """(tasks x labels) matrix of (weighted) vote counts."""
    counts = np.bincount(task * n_labels + label, weights=weights, minlength=n_tasks * n_labels)
    return counts.astype(np.float64, copy=False).reshape(n_tasks, n_labels)


def normalize_rows(scores: FloatArray) -> FloatArray:
    """Divide each row by its sum; rows summing to zero become uniform."""
    n_cols = scores.shape[1] if scores.ndim == 2 else 0
    totals = row_sums(scores)[:, None]
    out = np.full(scores.shape, 1.0 / max(n_cols, 1))
    np.divide(scores, totals, out=out, where=totals > 0)
    return out
