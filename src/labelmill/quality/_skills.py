"""Worker agreement with a reference labelling, on integer codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._encoding import EncodedLabels
from ._numeric import IntArray


def agreement_rate(enc: EncodedLabels, truth: IntArray) -> pd.Series[Any]:
    """Fraction of each worker's answers equal to ``truth[task]`` (a label code per task).

    Tasks whose truth code is negative are unknown and skipped. A worker with no answer on a known
    task gets NaN rather than a made-up number.
    """
    ref = truth[enc.task]
    known = ref >= 0
    hits = np.bincount(
        enc.worker[known], weights=(enc.label[known] == ref[known]), minlength=enc.n_workers
    )
    total = np.bincount(enc.worker[known], minlength=enc.n_workers).astype(np.float64)
    rate = np.full(enc.n_workers, np.nan)
    np.divide(hits, total, out=rate, where=total > 0)
    return pd.Series(rate, index=enc.workers, name="skill")
