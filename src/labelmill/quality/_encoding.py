"""Integer coding of long-format crowd labels, done once per fit.

Every aggregator works on three aligned integer arrays (task, worker, label codes) and keeps the
original values in three ``pd.Index`` objects to decode its results. Encoding is the only place
that touches the user's DataFrame row by row; everything after it is vectorized numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

REQUIRED_COLUMNS = ("task", "worker", "label")


@dataclass(frozen=True, slots=True)
class EncodedLabels:
    """Labels as integer codes plus the indexes that decode them.

    ``task[i]``, ``worker[i]`` and ``label[i]`` are the codes of answer ``i``; ``tasks[task[i]]``
    is the original task id, and so on. Tasks and workers keep their order of first appearance;
    labels are sorted when they are mutually comparable, so outputs have stable columns.
    """

    task: NDArray[np.intp]
    worker: NDArray[np.intp]
    label: NDArray[np.intp]
    tasks: pd.Index
    workers: pd.Index
    labels: pd.Index

    @property
    def n_answers(self) -> int:
        """Number of (task, worker, label) rows."""
        return int(self.task.shape[0])

    @property
    def n_tasks(self) -> int:
        """Number of distinct tasks."""
        return len(self.tasks)

    @property
    def n_workers(self) -> int:
        """Number of distinct workers."""
        return len(self.workers)

    @property
    def n_labels(self) -> int:
        """Number of distinct classes (observed, plus any extra ones asked for)."""
        return len(self.labels)


def _factorize(values: pd.Series, *, sort: bool) -> tuple[NDArray[np.intp], pd.Index, bool]:
    """Codes and uniques of ``values``; the flag says whether a code may be -1 (missing)."""
    raw = values.to_numpy()
    if raw.dtype.kind in "iu" and raw.size and bool(np.all(raw[1:] >= raw[:-1])):
        # Integer ids already grouped in order (the usual export layout): codes are a running
        # count of changes, with no hashing; first appearance and sorted order coincide.
        starts = np.empty(raw.size, dtype=bool)
        starts[0] = True
        np.not_equal(raw[1:], raw[:-1], out=starts[1:])
        first = np.flatnonzero(starts)
        lengths = np.diff(first, append=raw.size)
        codes = np.repeat(np.arange(first.size, dtype=np.intp), lengths)
        return codes, pd.Index(raw[first]), False
    if raw.dtype.kind in "iu" and raw.size:
        dense = _factorize_dense(raw, sort=sort)
        if dense is not None:
            return (*dense, False)
    try:
        codes, uniques = pd.factorize(values, sort=sort)
    except TypeError:  # labels of mixed, incomparable types: keep first-appearance order
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp, copy=False), pd.Index(uniques), True


def _factorize_dense(
    raw: NDArray[np.integer], *, sort: bool
) -> tuple[NDArray[np.intp], pd.Index] | None:
    """Factorize integers spanning a range not much wider than their count, without hashing.

    Ids numbered from a small base (the usual case for exported worker ids and class labels)
    index a lookup table directly. Returns ``None`` when the range is too wide for that.
    """
    low, high = int(raw.min()), int(raw.max())
    span = high - low + 1
    if span > max(2 * raw.size, 1024):
        return None
    offsets = raw.astype(np.intp, copy=False)
    if low:
        offsets = offsets - low
    # The distinct values and their order are read from a prefix first (ids recur, so most or
    # all show up early), then everything is mapped; only when some value is seen to be missing
    # from the prefix is the whole array read for them.
    head = min(raw.size, max(8 * span, 1 << 16))
    while True:
        values = _distinct(offsets[:head], span, sort=sort)
        rank = np.full(span, -1, dtype=np.intp)
        rank[values] = np.arange(values.size, dtype=np.intp)
        codes: NDArray[np.intp] = rank[offsets]
        # Every value of [low, high] found, or none of the codes unmapped: nothing was missed.
        if head == raw.size or values.size == span or codes.min() >= 0:
            break
        head = raw.size
    return codes, pd.Index((values + low).astype(raw.dtype, copy=False))


def _distinct(offsets: NDArray[np.intp], span: int, *, sort: bool) -> NDArray[np.intp]:
    """Distinct values of ``offsets`` (all in ``[0, span)``): sorted, or by first appearance."""
    if sort:
        return np.flatnonzero(np.bincount(offsets, minlength=span))
    first = np.full(span, offsets.size, dtype=np.intp)
    np.minimum.at(first, offsets, np.arange(offsets.size, dtype=np.intp))
    values = np.flatnonzero(first < offsets.size)
    ordered: NDArray[np.intp] = values[np.argsort(first[values], kind="stable")]
    return ordered


def _compact(codes: NDArray[np.intp], index: pd.Index) -> tuple[NDArray[np.intp], pd.Index]:
    """Renumber ``codes`` to 0..k-1 over the values still used, keeping their order."""
    used, new_codes = np.unique(codes, return_inverse=True)
    return new_codes.astype(np.intp, copy=False), index[used]


def encode(data: pd.DataFrame, *, extra_labels: Iterable[Hashable] = ()) -> EncodedLabels:
    """Factorize ``data`` (columns ``task``, ``worker``, ``label``) into integer codes.

    Rows with a missing value in any of the three columns are dropped (a missing label is not an
    answer). ``extra_labels`` adds classes that may not occur in ``data`` (e.g. gold-only labels),
    appended after the observed ones.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise ValueError(f"data must have columns {REQUIRED_COLUMNS}; missing {missing}")
    task, tasks, task_gaps = _factorize(data["task"], sort=False)
    worker, workers, worker_gaps = _factorize(data["worker"], sort=False)
    label, labels, label_gaps = _factorize(data["label"], sort=True)
    # pandas marks missing values with code -1 (integer columns have none); drop those rows
    # only if there are any.
    keep = np.ones(task.shape[0], dtype=bool)
    for codes, gaps in ((task, task_gaps), (worker, worker_gaps), (label, label_gaps)):
        if gaps:
            keep &= codes >= 0
    if not keep.all():
        # Rare path: drop those rows, then forget ids that only occurred in them.
        task, tasks = _compact(task[keep], tasks)
        worker, workers = _compact(worker[keep], workers)
        label, labels = _compact(label[keep], labels)
    extra = [x for x in dict.fromkeys(extra_labels) if x not in labels]
    if extra:
        labels = labels.append(pd.Index(extra))
    tasks = tasks.rename("task")
    workers = workers.rename("worker")
    labels = labels.rename("label")
    return EncodedLabels(task, worker, label, tasks, workers, labels)
