"""Text spans: character-level weighted vote, then merge runs back into spans."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .pairwise import vote_confidence

Span = tuple[int, int, Hashable]


@dataclass(frozen=True, slots=True)
class SpanResult:
    """Outcome of :func:`aggregate_spans`."""

    spans: pd.Series[Any]
    """Consensus spans of each task: a list of ``(start, end, label)``, end exclusive."""
    confidence: pd.Series[Any]
    """Mean, over the characters that any worker marked, of each character's vote confidence
    (see :func:`aggregate_spans`): about 0.75 for one label, higher as more labels agree."""
    span_confidence: pd.Series[Any]
    """Per task, the list of each consensus span's mean character confidence."""


def aggregate_spans(
    data: pd.DataFrame, *, skills: Mapping[Hashable, float] | None = None
) -> SpanResult:
    r"""Aggregate span annotations: columns ``task``, ``worker``, ``label``.

    ``label`` is a list of ``(start, end, label)`` character spans (end exclusive); an empty
    list means "nothing here" and is a vote for "no span" on every character. Each character
    gets the option (a span label, or none) with the largest total worker weight (``skills``,
    default 1 per worker); runs of characters with the same winning label become spans.
    Votes per character come from difference arrays (``np.add.at`` then a cumulative sum), so
    the cost is linear in text length plus the number of spans.

    Confidence of a character whose winning option has weight :math:`v` out of a total
    :math:`V`: the posterior probability that most workers would choose that option,
    :math:`P(\theta > 1/2)` for :math:`\theta \sim \mathrm{Beta}(1 + v, 1 + V - v)`
    (:func:`~labelmill.quality.pairwise.vote_confidence`; a uniform prior worth two answers).
    The task's confidence is the mean over the characters any worker marked; a task where
    nobody marked anything gets the confidence of :math:`V` votes for "no span" and none
    against. One label gives 0.75, two agreeing labels 0.875, three 0.9375; a 1-1 split gives
    0.5. Skills scale the votes.

    Reference: token-level majority voting, the standard baseline of sequence-label aggregation
    (A. T. Nguyen, B. C. Wallace, J. J. Li, A. Nenkova, M. Lease, "Aggregating and Predicting
    Sequence Labels from Crowd Annotations", ACL 2017).
    """
    frame = data[["task", "worker", "label"]]
    out_spans: dict[Any, list[Span]] = {}
    out_conf: dict[Any, float] = {}
    out_span_conf: dict[Any, list[float]] = {}
    for task, group in frame.groupby("task", sort=False):
        answers = [list(x) if x is not None else [] for x in group["label"]]
        weights = np.array(
            [1.0 if skills is None else float(skills.get(w, 1.0)) for w in group["worker"]]
        )
        labels = list(dict.fromkeys(s[2] for a in answers for s in a))
        length = max((int(s[1]) for a in answers for s in a), default=0)
        # votes[k, c]: weight for label k on character c; row 0 is "no span".
        diff = np.zeros((len(labels) + 1, length + 1))
        for answer, w in zip(answers, weights, strict=True):
            for start, end, label in answer:
                k = labels.index(label) + 1
                diff[k, int(start)] += w
                diff[k, int(end)] -= w
        votes = np.cumsum(diff, axis=1)[:, :length]
        votes[0] = weights.sum() - votes[1:].sum(axis=0)  # who marked nothing here
        votes[0] = np.maximum(votes[0], 0.0)
        total = votes.sum(axis=0)
        best = np.argmax(votes, axis=0)
        win = votes[best, np.arange(length)]
        char_conf = vote_confidence(win, total - win)
        marked = votes[1:].sum(axis=0) > 0
        spans: list[Span] = []
        span_conf: list[float] = []
        c = 0
        while c < length:
            if best[c] == 0:
                c += 1
                continue
            end = c
            while end < length and best[end] == best[c]:
                end += 1
            spans.append((c, end, labels[best[c] - 1]))
            span_conf.append(float(char_conf[c:end].mean()))
            c = end
        out_spans[task] = spans
        out_span_conf[task] = span_conf
        out_conf[task] = (
            float(char_conf[marked].mean())
            if marked.any()
            else float(vote_confidence(weights.sum(), 0.0))
        )
    index = pd.Index(list(out_spans), name="task")
    return SpanResult(
        spans=pd.Series(list(out_spans.values()), index=index, name="spans", dtype=object),
        confidence=pd.Series(list(out_conf.values()), index=index, name="confidence", dtype=float),
        span_confidence=pd.Series(
            list(out_span_conf.values()), index=index, name="span_confidence", dtype=object
        ),
    )
