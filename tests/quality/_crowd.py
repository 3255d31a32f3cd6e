"""Seeded synthetic crowds for the quality tests (no dependence on any external data)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_crowd(
    *,
    n_tasks: int = 200,
    per_task: int = 5,
    accuracies: list[float] | None = None,
    n_classes: int = 3,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """One-coin crowd: worker j is right with probability accuracies[j], else a random wrong class.

    Returns long-format answers (string task and worker ids, labels "c0".."cK") and the truth.
    """
    rng = np.random.default_rng(seed)
    acc = np.array(accuracies if accuracies is not None else [0.9, 0.85, 0.8, 0.7, 0.6, 0.55])
    truth = rng.integers(0, n_classes, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(acc.size, size=min(per_task, acc.size), replace=False):
            if rng.random() < acc[w]:
                y = truth[t]
            else:
                y = (truth[t] + rng.integers(1, n_classes)) % n_classes
            rows.append((f"t{t}", f"w{w}", f"c{y}"))
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    gold = pd.Series([f"c{y}" for y in truth], index=[f"t{t}" for t in range(n_tasks)])
    return data, gold.rename_axis("task")


def answers(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    """A DataFrame from (task, worker, label) tuples."""
    return pd.DataFrame(rows, columns=["task", "worker", "label"])
