"""Plane geometry of image annotations: the box each shape is matched on, IoU, F1 matching.

Pure Python (no numpy): ``ImageAnnotation.agrees`` runs on every gold submission in the
server, and client-side users of task types should not load numpy for it.

Every geometry is compared through a *match box* ``(x, y, w, h)``: a box is itself; a polygon
or a line is the bounding box of its vertices; a point is a square of side ``POINT_SIDE``
centred on it. A side shorter than ``POINT_SIDE`` (a point, a horizontal line) is widened to
``POINT_SIDE`` about its centre, so two such shapes match (IoU ≥ 0.5) when they lie within
``POINT_SIDE / 3`` = 10 pixels of each other along that axis: "points within a distance".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Box = tuple[float, float, float, float]

#: Side (pixels) of the square a point is matched on; see the module docstring.
POINT_SIDE = 30.0

#: IoU from which two objects of the same label are the same object.
MATCH_IOU = 0.5


def _widen(low: float, extent: float) -> tuple[float, float]:
    """(start, extent) of an axis, widened about its centre to at least ``POINT_SIDE``."""
    if extent >= POINT_SIDE:
        return low, extent
    centre = low + extent / 2.0
    return centre - POINT_SIDE / 2.0, POINT_SIDE


def match_box(shape: Mapping[str, Any]) -> Box:
    """The box a (validated) annotation is matched on, ``(x, y, w, h)``."""
    kind = shape["type"]
    if kind == "box":
        return (
            float(shape["left"]),
            float(shape["top"]),
            float(shape["width"]),
            float(shape["height"]),
        )
    if kind == "point":
        xs, ys = [float(shape["x"])], [float(shape["y"])]
    else:
        xs = [float(v["x"]) for v in shape["vertices"]]
        ys = [float(v["y"]) for v in shape["vertices"]]
    x, w = _widen(min(xs), max(xs) - min(xs))
    y, h = _widen(min(ys), max(ys) - min(ys))
    return x, y, w, h


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when both are empty)."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def matched_pairs(
    ours: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]
) -> list[tuple[int, int]]:
    """One-to-one matches (index in ``ours``, index in ``theirs``) of objects with the same
    label and IoU ≥ ``MATCH_IOU``, greedily by decreasing IoU (as COCO's evaluation does)."""
    candidates: list[tuple[float, int, int]] = []
    boxes_theirs = [match_box(t) for t in theirs]
    for i, mine in enumerate(ours):
        box = match_box(mine)
        for j, other in enumerate(theirs):
            if mine["label"] != other["label"]:
                continue
            overlap = iou(box, boxes_theirs[j])
            if overlap >= MATCH_IOU:
                candidates.append((overlap, i, j))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_i: set[int] = set()
    used_j: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in candidates:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return pairs


def f1(matched: int, n_ours: int, n_theirs: int) -> float:
    """F1 of ``matched`` objects out of two sets' sizes; two empty sets agree fully."""
    if n_ours + n_theirs == 0:
        return 1.0
    return 2.0 * matched / (n_ours + n_theirs)
