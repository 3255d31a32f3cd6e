"""Bounding boxes: match boxes across workers by IoU, average each matched group, and vote
on its label."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ._numeric import FloatArray
from .pairwise import vote_confidence

#: How much IoU a match between a box and a cluster that has no box of its label gives up
#: (``match_across_labels``): a tie-break between near-equal matches, never a reason to match.
_OTHER_LABEL_PENALTY = 1e-6


@dataclass(frozen=True, slots=True)
class BoxResult:
    """Outcome of :func:`aggregate_boxes`."""

    boxes: pd.Series[Any]
    """Consensus boxes of each task: a list of ``[x, y, w, h, label]``."""
    box_confidence: pd.Series[Any]
    """Per task, each consensus box's posterior probability that it is the box all workers
    would keep with the label they would give it: the probability that the workers' support
    for the box reaches ``min_support``, times the probability that its label is the majority
    label of those who draw it (see :func:`aggregate_boxes`; 0.75 for a box one worker drew;
    the second factor is 1 when no worker gave the box another label)."""
    confidence: pd.Series[Any]
    """Per task: mean confidence of the kept boxes times mean confidence of the dropped
    clusters, each the posterior probability that keeping (with its label) or dropping is
    right (see :func:`aggregate_boxes`)."""
    label_share: pd.Series[Any]
    """Per task, each consensus box's label vote: the weight of the workers who gave the box
    its label over the weight of all the workers who drew it (1.0 when they all agree)."""


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise intersection-over-union of ``[x, y, w, h]`` boxes (rows of ``a`` and ``b``)."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(
        np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    out: FloatArray = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def aggregate_boxes(
    data: pd.DataFrame,
    *,
    iou_threshold: float = 0.5,
    min_support: float = 0.5,
    skills: Mapping[Hashable, float] | None = None,
    match_across_labels: bool | Mapping[Any, Hashable] = True,
) -> BoxResult:
    r"""Aggregate box annotations: columns ``task``, ``worker``, ``label``.

    ``label`` is a list of ``[x, y, w, h, label]`` boxes (an empty list: "no object"; a box
    of four numbers has the label ``None``). Workers are visited in a canonical order (by
    worker id, then by their boxes; each worker's boxes sorted too), so the result does not
    depend on the order of the input rows; each worker's boxes are matched one-to-one to the
    clusters built so far by the Hungarian algorithm on IoU with the cluster's current mean
    box (IoU >= ``iou_threshold``); unmatched boxes open new clusters. A cluster is kept when
    the workers in it carry at least ``min_support`` of the task's total weight (``skills``,
    default 1 each), and its box is the weight-averaged coordinates of its members.

    Labels. With ``match_across_labels=True`` (the default) boxes match whatever their
    labels: two workers who draw the same object and call it ``car`` and ``truck`` are one
    cluster, whose support (and so the keep-or-drop decision) counts every worker who drew
    the object. Among near-equal matches (IoU within 1e-6) a box goes to a cluster that
    already has a box of its label. The kept box's label is a weighted vote of the cluster's
    members (``skills``); a tie goes to the first label in sorted order (by ``repr`` where
    the labels do not compare), whatever the order of the workers. With ``False`` boxes only
    match boxes of the same label (for projects whose classes overlap heavily by nature and
    are never confused); a mapping ``label -> group`` matches boxes whose labels are in the
    same group (e.g. ``{"car": "vehicle", "truck": "vehicle", "bus": "vehicle"}``), a label
    missing from the mapping only itself.

    Confidence. A cluster drawn by workers of weight :math:`d` out of a task total :math:`W`
    has a support share :math:`\theta \sim \mathrm{Beta}(1 + d, 1 + W - d)` a posteriori
    (uniform prior worth two answers; :func:`~labelmill.quality.pairwise.vote_confidence`).
    A dropped cluster's confidence is :math:`P(\theta < t)`, with :math:`t` = ``min_support``:
    the probability that dropping it is the decision all workers would make. A kept box's
    confidence is the probability that keeping it with its label is that decision:
    :math:`P(\theta \ge t)\,P(\lambda > 1/2)`, where :math:`\lambda \sim
    \mathrm{Beta}(1 + v, 1 + d - v)` is the share, among those who draw the object, of the
    label that won with weight :math:`v` (support and label shares independent a priori),
    and the second factor is 1 when nobody of positive weight gave another label (a label
    nobody disputes is not in doubt: the evidence on the box is in the first factor). So for
    unanimous labels (and always with ``match_across_labels=False``) the confidence is
    :math:`P(\theta \ge t)` as before; ``car, car, truck`` from three workers gives
    :math:`15/16 \cdot 11/16`. The task's confidence is the mean over kept boxes times the
    mean over dropped clusters (a side with no cluster counts 1); an image where nobody drew
    anything gets :math:`P(\theta < t)` for :math:`d = 0`. With :math:`t = 1/2`, one worker
    gives 0.75, two agreeing workers 0.875, three 0.9375.

    Reference: the IoU-matching-and-averaging scheme used for crowd bounding boxes, e.g.
    S. Branson, G. Van Horn, P. Perona, "Lean Crowdsourcing: Combining Humans and Machines in
    an Online System", CVPR 2017 (their box baseline).
    """
    frame = data[["task", "worker", "label"]]
    out_boxes: dict[Any, list[list[Any]]] = {}
    out_box_conf: dict[Any, list[float]] = {}
    out_share: dict[Any, list[float]] = {}
    out_conf: dict[Any, float] = {}
    for task, group in frame.groupby("task", sort=False):
        # Canonical order: the greedy matching below must not depend on the input row order.
        rows = sorted(
            (
                (
                    repr(worker),
                    [_box_key(b) for b in boxes],
                    1.0 if skills is None else float(skills.get(worker, 1.0)),
                    boxes,
                )
                for worker, answer in zip(group["worker"], group["label"], strict=True)
                for boxes in [
                    sorted((list(b) for b in answer), key=_box_key) if answer is not None else []
                ]
            ),
            key=lambda row: (row[0], row[1]),
        )
        total = float(sum(row[2] for row in rows))
        clusters: list[_Cluster] = []
        for _, _, w, boxes in rows:
            if not boxes:
                continue
            coords = np.array([[float(v) for v in b[:4]] for b in boxes])
            labels = [b[4] if len(b) > 4 else None for b in boxes]
            groups = [_group(label, match_across_labels) for label in labels]
            matched = set()
            if clusters:
                means = np.array([_mean_box(c.members) for c in clusters])
                iou = iou_matrix(coords, means)
                allowed = np.array([[g == c.group for c in clusters] for g in groups])
                eligible = allowed & (iou >= iou_threshold) & (iou > 0)
                other = np.array([[lab not in c.label_weight for c in clusters] for lab in labels])
                score = np.where(eligible, iou - _OTHER_LABEL_PENALTY * other, 0.0)
                matched_rows, matched_cols = linear_sum_assignment(-score)
                for r, c in zip(matched_rows, matched_cols, strict=True):
                    if eligible[r, c]:
                        clusters[c].add(w, coords[r], labels[r])
                        matched.add(int(r))
            for r in range(len(boxes)):
                if r not in matched:
                    cluster = _Cluster(groups[r])
                    cluster.add(w, coords[r], labels[r])
                    clusters.append(cluster)
        kept, kept_conf, kept_share, dropped_conf = [], [], [], []
        for cluster in clusters:
            drew = float(sum(m[0] for m in cluster.members))
            support = drew / total if total > 0 else 0.0
            # P(share >= min_support) under Beta(1 + drew, 1 + total - drew).
            keep_conf = float(vote_confidence(drew, total - drew, threshold=min_support))
            if support >= min_support:
                label, votes, against = cluster.vote()
                # P(label share > 1/2) under Beta(1 + votes, 1 + against); 1 if undisputed.
                label_conf = float(vote_confidence(votes, against)) if against > 0 else 1.0
                box = [float(v) for v in _mean_box(cluster.members)]
                kept.append([*box, label] if label is not None else box)
                kept_conf.append(keep_conf * label_conf)
                kept_share.append(votes / drew if drew > 0 else 1.0 / len(cluster.label_weight))
            else:
                dropped_conf.append(1.0 - keep_conf)
        out_boxes[task] = kept
        out_box_conf[task] = kept_conf
        out_share[task] = kept_share
        if not clusters:  # nobody drew anything: all the weight says "no object"
            dropped_conf.append(1.0 - float(vote_confidence(0.0, total, threshold=min_support)))
        agree_kept = float(np.mean(kept_conf)) if kept_conf else 1.0
        agree_dropped = float(np.mean(dropped_conf)) if dropped_conf else 1.0
        out_conf[task] = agree_kept * agree_dropped
    index = pd.Index(list(out_boxes), name="task")
    return BoxResult(
        boxes=pd.Series(list(out_boxes.values()), index=index, name="boxes", dtype=object),
        box_confidence=pd.Series(
            list(out_box_conf.values()), index=index, name="box_confidence", dtype=object
        ),
        confidence=pd.Series(list(out_conf.values()), index=index, name="confidence", dtype=float),
        label_share=pd.Series(
            list(out_share.values()), index=index, name="label_share", dtype=object
        ),
    )


class _Cluster:
    """Boxes of one object, at most one per worker: (weight, box) members and the weight
    behind each label given (in the canonical order the members came in)."""

    __slots__ = ("group", "label_weight", "members")

    def __init__(self, group: Hashable) -> None:
        self.group = group
        self.members: list[tuple[float, FloatArray]] = []
        self.label_weight: dict[Hashable, float] = {}

    def add(self, weight: float, box: FloatArray, label: Hashable) -> None:
        self.members.append((weight, box))
        self.label_weight[label] = self.label_weight.get(label, 0.0) + weight

    def vote(self) -> tuple[Hashable, float, float]:
        """The label with the most weight (a tie within rounding: the first in sorted
        order), its weight and the weight of the other labels."""
        best = max(self.label_weight.values())
        tol = 1e-12 * max(1.0, abs(best))
        tied = [label for label, v in self.label_weight.items() if v >= best - tol]
        try:
            label: Hashable = min(tied)  # type: ignore[type-var]
        except TypeError:  # labels that do not compare (e.g. None and a string)
            label = min(tied, key=repr)
        against = sum(v for other, v in self.label_weight.items() if other is not label)
        return label, self.label_weight[label], float(against)


def _group(label: Hashable, across: bool | Mapping[Any, Hashable]) -> Hashable:
    """The matching group of a label: boxes match only within a group."""
    if across is True:
        return None
    if across is False or label not in across:
        return ("label", label)
    return ("group", across[label])


def _box_key(box: list[Any]) -> tuple[Any, ...]:
    """Sort key of one ``[x, y, w, h, label]`` box: its coordinates, then its label's repr."""
    return (*(float(v) for v in box[:4]), repr(box[4]) if len(box) > 4 else "")


def _mean_box(members: list[tuple[float, FloatArray]]) -> FloatArray:
    weights = np.array([m[0] for m in members])
    boxes = np.stack([m[1] for m in members])
    if weights.sum() <= 0:
        mean: FloatArray = boxes.mean(axis=0)
        return mean
    weighted: FloatArray = (weights[:, None] * boxes).sum(axis=0) / weights.sum()
    return weighted
