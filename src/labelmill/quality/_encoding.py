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


def _factorize(values: pd.Series, *, sort: bool) -> tuple[NDArray[np.intp], pd.Index]:
    raw = values.to_numpy()
    if raw.dtype.kind in "iu" and raw.size and bool(np.all(raw[1:] >= raw[:-1])):
        # Integer ids already grouped in order (the usual export layout): codes are a running
        # count of changes, with no hashing; first appearance and sorted order coincide.
        starts = np.empty(raw.size, dtype=bool)
        starts[0] = True
        np.not_equal(raw[1:], raw[:-1], out=starts[1:])
        codes = np.cumsum(starts, dtype=np.intp) - 1
        return codes, pd.Index(raw[starts])
    try:
        codes, uniques = pd.factorize(values, sort=sort)
    except TypeError:  # labels of mixed, incomparable types: keep first-appearance order
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp, copy=False), pd.Index(uniques)


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
    task, tasks = _factorize(data["task"], sort=False)
    worker, workers = _factorize(data["worker"], sort=False)
    label, labels = _factorize(data["label"], sort=True)
    # pandas marks missing values with code -1; drop those rows only if there are any.
    keep = (task >= 0) & (worker >= 0) & (label >= 0)
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
