"""``aggregate``: the categorical truth inference labelmill uses by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .dawid_skene import DawidSkene
from .gold_dawid_skene import GoldDawidSkene

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
    """Infer each task's true label from ``data`` (columns ``task``, ``worker``, ``label``).

    The model is Dawid-Skene (a confusion matrix per worker) started from majority vote, made
    robust in two ways: every confusion cell gets a small Dirichlet pseudo-count, and a worker
    with fewer than K^2 answers -- too few for K(K-1) free parameters -- is modelled by a single
    accuracy (one-coin) instead, shrunk towards the crowd's pooled accuracy by a prior worth two
    answers, so a crowd of occasional workers degrades gracefully to (weighted) voting rather
    than over-fitting. The class prevalence gets one pseudo-count per class. ``gold`` (task ->
    known label) clamps those tasks in every E-step, which also calibrates the workers who
    answered them.
    """
    params: dict[str, Any] = {
        "smoothing": SMOOTHING,
        "prior_smoothing": PRIOR_SMOOTHING,
        "one_coin_below": "auto",
    }
    model: DawidSkene
    if gold is not None and len(gold.dropna()):
        model = GoldDawidSkene(**params).fit(data, gold)
        method = "gold_dawid_skene"
    else:
        model = DawidSkene(**params).fit(data)
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
        "one_coin_below=K^2)",
    )
