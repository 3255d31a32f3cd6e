"""Bounding boxes: match boxes across workers by IoU, then average each matched group."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ._numeric import FloatArray


@dataclass(frozen=True, slots=True)
class BoxResult:
    """Outcome of :func:`aggregate_boxes`."""

    boxes: pd.Series[Any]
    """Consensus boxes of each task: a list of ``[x, y, w, h, label]``."""
    box_confidence: pd.Series[Any]
    """Per task, each consensus box's support: the weight share of workers who drew it."""
    confidence: pd.Series[Any]
    """Per task: mean support of the kept boxes times one minus the mean support of the
    dropped clusters (1 when everybody drew the same boxes; 1 for agreed-empty images)."""


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
    """Aggregate box annotations: columns ``task``, ``worker``, ``label``.

    ``label`` is a list of ``[x, y, w, h, label]`` boxes (an empty list: "no object"). Workers
    are visited in turn; each worker's boxes are matched one-to-one to the clusters built so
    far by the Hungarian algorithm on IoU with the cluster's current mean box (same class only,
    IoU >= ``iou_threshold``); unmatched boxes open new clusters. A cluster is kept when the
    workers in it carry at least ``min_support`` of the task's total weight (``skills``,
    default 1 each), and its box is the weight-averaged coordinates of its members.

    Reference: the IoU-matching-and-averaging scheme used for crowd bounding boxes, e.g.
    S. Branson, G. Van Horn, P. Perona, "Lean Crowdsourcing: Combining Humans and Machines in
    an Online System", CVPR 2017 (their box baseline).
    """
    frame = data[["task", "worker", "label"]]
    out_boxes: dict[Any, list[list[Any]]] = {}
    out_box_conf: dict[Any, list[float]] = {}
    out_conf: dict[Any, float] = {}
    for task, group in frame.groupby("task", sort=False):
        weights = [1.0 if skills is None else float(skills.get(w, 1.0)) for w in group["worker"]]
        total = float(sum(weights))
        # Each cluster: label, list of (weight, box array).
        clusters: list[tuple[Hashable, list[tuple[float, FloatArray]]]] = []
        for answer, w in zip(group["label"], weights, strict=True):
            boxes = list(answer) if answer is not None else []
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
                rows, cols = linear_sum_assignment(-score)
                for r, c in zip(rows, cols, strict=True):
                    if score[r, c] > 0:
                        clusters[c][1].append((w, coords[r]))
                        matched.add(int(r))
            for r in range(len(boxes)):
                if r not in matched:
                    clusters.append((classes[r], [(w, coords[r])]))
        kept, kept_conf, dropped = [], [], []
        for label, members in clusters:
            support = sum(m[0] for m in members) / total if total > 0 else 0.0
            if support >= min_support:
                box = [float(v) for v in _mean_box(members)]
                kept.append([*box, label] if label is not None else box)
                kept_conf.append(support)
            else:
                dropped.append(support)
        out_boxes[task] = kept
        out_box_conf[task] = kept_conf
        agree_kept = float(np.mean(kept_conf)) if kept_conf else 1.0
        agree_dropped = 1.0 - float(np.mean(dropped)) if dropped else 1.0
        out_conf[task] = agree_kept * agree_dropped
    index = pd.Index(list(out_boxes), name="task")
    return BoxResult(
        boxes=pd.Series(list(out_boxes.values()), index=index, name="boxes", dtype=object),
        box_confidence=pd.Series(
            list(out_box_conf.values()), index=index, name="box_confidence", dtype=object
        ),
        confidence=pd.Series(list(out_conf.values()), index=index, name="confidence", dtype=float),
    )


def _mean_box(members: list[tuple[float, FloatArray]]) -> FloatArray:
    weights = np.array([m[0] for m in members])
    boxes = np.stack([m[1] for m in members])
    if weights.sum() <= 0:
        mean: FloatArray = boxes.mean(axis=0)
        return mean
    weighted: FloatArray = (weights[:, None] * boxes).sum(axis=0) / weights.sum()
    return weighted
