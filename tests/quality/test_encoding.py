from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality._encoding import encode


@pytest.mark.parametrize(
    "tasks",
    [
        [3, 3, 5, 5, 5, 9],  # sorted integers: the hash-free fast path
        [5, 3, 5, 9, 3, 3],  # unsorted integers
        ["b", "b", "a", "c", "a", "a"],  # strings
    ],
)
def test_encode_matches_first_appearance_factorize(tasks: list[object]) -> None:
    data = pd.DataFrame({"task": tasks, "worker": list("uvuvuv"), "label": [1, 0, 1, 1, 0, 2]})
    enc = encode(data)
    codes, uniques = pd.factorize(pd.Series(tasks))
    np.testing.assert_array_equal(enc.task, codes)
    assert list(enc.tasks) == list(uniques)
    assert list(enc.labels) == [0, 1, 2]  # labels sorted
    assert enc.tasks.name == "task" and enc.workers.name == "worker"


def test_encode_drops_missing_and_adds_extra_labels() -> None:
    data = pd.DataFrame({"task": [1, 1, 2], "worker": ["u", None, "u"], "label": ["a", "b", None]})
    enc = encode(data, extra_labels=["z", "a"])
    assert enc.n_answers == 1
    assert list(enc.labels) == ["a", "z"]  # "b" only occurred in a dropped row
    assert list(enc.workers) == ["u"] and list(enc.tasks) == [1]
