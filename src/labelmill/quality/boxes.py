"""Bounding boxes: match boxes across workers by IoU, then average each matched group."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ._numeric import FloatArray
from .pairwise import vote_confidence


@dataclass(frozen=True, slots=True)
class BoxResult:
    """Outcome of :func:`aggregate_boxes`."""

    boxes: pd.Series[Any]
    """Consensus boxes of each task: a list of ``[x, y, w, h, label]``."""
    box_confidence: pd.Series[Any]
    """Per task, each consensus box's posterior probability that the workers' support for it
    reaches ``min_support`` (see :func:`aggregate_boxes`; 0.75 for a box one worker drew)."""
    confidence: pd.Series[Any]
    """Per task: mean confidence of the kept boxes times mean confidence of the dropped
    clusters, each the posterior probability that keeping or dropping is right (see
    :func:`aggregate_boxes`)."""


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
) -> BoxResult:
    r"""Aggregate box annotations: columns ``task``, ``worker``, ``label``.

    ``label`` is a list of ``[x, y, w, h, label]`` boxes (an empty list: "no object"). Workers
    are visited in a canonical order (by worker id, then by their boxes; each worker's boxes
    sorted too), so the result does not depend on the order of the input rows; each worker's
    boxes are matched one-to-one to the clusters built so far by the Hungarian algorithm on IoU
    with the cluster's current mean box (same class only, IoU >= ``iou_threshold``); unmatched
    boxes open new clusters. A cluster is kept when the workers in it carry at least
    ``min_support`` of the task's total weight (``skills``, default 1 each), and its box is the
    weight-averaged coordinates of its members.

    Confidence. A cluster drawn by workers of weight :math:`d` out of a task total :math:`W`
    has a support share :math:`\theta \sim \mathrm{Beta}(1 + d, 1 + W - d)` a posteriori
    (uniform prior worth two answers; :func:`~labelmill.quality.pairwise.vote_confidence`).
    A kept box's confidence is :math:`P(\theta \ge t)`, a dropped cluster's
    :math:`P(\theta < t)`, with :math:`t` = ``min_support``: the probability that the
    keep-or-drop decision is the one all workers would make. The task's confidence is the
    mean over kept boxes times the mean over dropped clusters (a side with no cluster counts
    1); an image where nobody drew anything gets :math:`P(\theta < t)` for :math:`d = 0`.
    With :math:`t = 1/2`, one worker gives 0.75, two agreeing workers 0.875, three 0.9375.

    Reference: the IoU-matching-and-averaging scheme used for crowd bounding boxes, e.g.
    S. Branson, G. Van Horn, P. Perona, "Lean Crowdsourcing: Combining Humans and Machines in
    an Online System", CVPR 2017 (their box baseline).
    """
    frame = data[["task", "worker", "label"]]
    out_boxes: dict[Any, list[list[Any]]] = {}
    out_box_conf: dict[Any, list[float]] = {}
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
        # Each cluster: label, list of (weight, box array).
        clusters: list[tuple[Hashable, list[tuple[float, FloatArray]]]] = []
        for _, _, w, boxes in rows:
            if not boxes:
                continue
            coords = np.array([[float(v) for v in b[:4]] for b in boxes])
            classes = [b[4] if len(b) > 4 else None for b in boxes]
            matched = set()
            if clusters:
                means = np.array([_mean_box(members) for _, members in clusters])
                iou = iou_matrix(coords, means)
                same = np.array([[c == k for k, _ in clusters] for c in classes])
                score = np.where(same & (iou >= iou_threshold), iou, 0.0)
                matched_rows, matched_cols = linear_sum_assignment(-score)
                for r, c in zip(matched_rows, matched_cols, strict=True):
                    if score[r, c] > 0:
                        clusters[c][1].append((w, coords[r]))
                        matched.add(int(r))
            for r in range(len(boxes)):
                if r not in matched:
                    clusters.append((classes[r], [(w, coords[r])]))
        kept, kept_conf, dropped_conf = [], [], []
        for label, members in clusters:
            drew = float(sum(m[0] for m in members))
            support = drew / total if total > 0 else 0.0
            # P(share >= min_support) under Beta(1 + drew, 1 + total - drew).
            keep_conf = float(vote_confidence(drew, total - drew, threshold=min_support))
            if support >= min_support:
                box = [float(v) for v in _mean_box(members)]
                kept.append([*box, label] if label is not None else box)
                kept_conf.append(keep_conf)
            else:
                dropped_conf.append(1.0 - keep_conf)
        out_boxes[task] = kept
        out_box_conf[task] = kept_conf
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
    )


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
