"""``aggregate``: the categorical truth inference labelmill uses by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .hierarchical_dawid_skene import HierarchicalDawidSkene

#: Dirichlet pseudo-count per confusion-matrix cell: keeps unseen (worker, answer, truth)
#: combinations possible instead of vetoing a class for good, and barely moves the estimates of
#: workers with many answers.
SMOOTHING = 0.1

#: Dirichlet pseudo-count per class of the prevalence: on a handful of tasks, a class nobody has
#: chosen yet must not get a prior of zero (which would make every answer for it look wrong).
PRIOR_SMOOTHING = 1.0


@dataclass(frozen=True, slots=True)
class AggregationResult:
    """Outcome of :func:`aggregate`."""

    labels: pd.Series[Any]
    """Most likely true label of each task (indexed by ``task``)."""
    confidence: pd.Series[Any]
    """Posterior probability of that label (indexed by ``task``)."""
    probas: pd.DataFrame
    """Full posterior, tasks x labels."""
    skills: pd.Series[Any]
    """Each worker's estimated accuracy (indexed by ``worker``)."""
    method: str
    """What produced the result, for audit logs."""


def aggregate(data: pd.DataFrame, gold: pd.Series[Any] | None = None) -> AggregationResult:
    r"""Infer each task's true label from ``data`` (columns ``task``, ``worker``, ``label``).

    The model is Dawid-Skene (a confusion matrix per worker) started from majority vote, made
    robust in three ways (:class:`HierarchicalDawidSkene` with its defaults): every confusion
    cell gets a small Dirichlet pseudo-count; a worker with fewer than :math:`K^2` answers --
    too few for :math:`K(K-1)` free cells -- gets the pooled confusion matrix of the other such
    workers, tilted by one skill parameter of its own that a prior worth :math:`K^2` answers
    centres on those peers, so a crowd of occasional workers degrades gracefully to (weighted)
    voting rather than over-fitting; and the class prevalence gets one pseudo-count per class.
    ``gold`` (task -> known label) clamps those tasks in every E-step, which also calibrates the
    workers who answered them.
    """
    model = HierarchicalDawidSkene(smoothing=SMOOTHING, prior_smoothing=PRIOR_SMOOTHING)
    if gold is not None and len(gold.dropna()):
        model.fit(data, gold)
        method = "gold_dawid_skene"
    else:
        model.fit(data)
        method = "dawid_skene"
    probas = model.probas_
    labels = model.labels_.rename("label")
    if len(probas):
        confidence = pd.Series(probas.to_numpy().max(axis=1), index=probas.index)
    else:
        confidence = pd.Series(dtype="float64", index=probas.index)
    return AggregationResult(
        labels=labels,
        confidence=confidence.rename("confidence"),
        probas=probas,
        skills=model.skills_,
        method=f"{method}(smoothing={SMOOTHING}, prior_smoothing={PRIOR_SMOOTHING}, "
        "sparse_below=K^2: peers' matrix tilted by one skill, prior K^2 answers)",
    )
