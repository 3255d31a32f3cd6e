"""Multi-label answers: one binary truth-inference problem per label."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .robust import aggregate


@dataclass(frozen=True, slots=True)
class MultiLabelResult:
    """Outcome of :func:`aggregate_multilabel`."""

    labels: pd.Series[Any]
    """The inferred label set of each task (a ``frozenset``, indexed by ``task``)."""
    probas: pd.DataFrame
    """Tasks x labels: posterior probability that the label applies."""
    confidence: pd.Series[Any]
    """Probability that the whole set is right, assuming labels independent:
    :math:`\\prod_l \\max(p_l, 1 - p_l)`."""


def aggregate_multilabel(
    data: pd.DataFrame, *, labels: Iterable[Hashable] | None = None
) -> MultiLabelResult:
    """Aggregate answers whose ``label`` is a collection (set, list, tuple) of labels.

    Each label becomes its own binary task: a worker who answered the task said "yes" to the
    labels it chose and "no" to every other one. Each binary problem is solved by
    :func:`labelmill.quality.aggregate` (robust Dawid-Skene, so a worker's tendency to over- or
    under-tag a label is learned per label), and a label is in the result when its posterior
    is at least 0.5. ``labels`` fixes the label universe (default: every label chosen by anyone).

    Reference: the binary-relevance reduction of multi-label learning, e.g. G. Tsoumakas,
    I. Katakis, "Multi-Label Classification: An Overview", IJDWM 3(3), 2007, with per-label
    A. P. Dawid, A. M. Skene (1979) models.
    """
    frame = data[["task", "worker", "label"]].dropna()
    chosen = frame["label"].map(lambda x: frozenset(x))
    universe = (
        list(labels) if labels is not None else sorted({x for s in chosen for x in s}, key=str)
    )
    tasks = pd.Index(pd.unique(frame["task"]), name="task")
    probas = pd.DataFrame(0.0, index=tasks, columns=pd.Index(universe, name="label"))
    for label in universe:
        said = chosen.map(lambda s, label=label: label in s)
        binary = pd.DataFrame({"task": frame["task"], "worker": frame["worker"], "label": said})
        posterior = aggregate(binary).probas
        yes = posterior[True] if True in posterior.columns else pd.Series(0.0, index=tasks)
        probas[label] = yes.reindex(tasks).fillna(0.0).to_numpy()
    values = probas.to_numpy()
    sets = [frozenset(np.asarray(universe, dtype=object)[row >= 0.5]) for row in values]
    confidence = (
        np.prod(np.maximum(values, 1.0 - values), axis=1) if universe else np.ones(len(tasks))
    )
    return MultiLabelResult(
        labels=pd.Series(sets, index=tasks, name="labels", dtype=object),
        probas=probas,
        confidence=pd.Series(confidence, index=tasks, name="confidence"),
    )
