"""Worker-bias-corrected ratings: empirical-Bayes shrinkage of each worker's offset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmill.quality import aggregate_ratings


def ratings(
    seed: int,
    offsets: np.ndarray,
    *,
    n_tasks: int = 300,
    per_task: int = 3,
    noise: float = 5.0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Each task has a true value in [0, 100]; ``per_task`` random workers rate it with their
    offset plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.0, 100.0, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(offsets.size, size=per_task, replace=False):
            rows.append((f"t{t}", f"w{w}", truth[t] + offsets[w] + rng.normal(0.0, noise)))
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    return data, pd.Series(truth, index=[f"t{t}" for t in range(n_tasks)])


def mae(values: pd.Series, truth: pd.Series) -> float:
    return float(np.abs(values.reindex(truth.index) - truth).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_offsets_are_removed(seed: int) -> None:
    offsets = np.linspace(-15.0, 15.0, 10)
    data, truth = ratings(seed, offsets)
    result = aggregate_ratings(data)
    plain = data.groupby("task")["label"].mean()
    # The mean keeps the average offset of the task's 3 raters (sd about 6.5 here); the
    # corrected estimate is left with the noise alone (sd 5 / sqrt(3)).
    assert mae(result.values, truth) < 0.6 * mae(plain, truth)
    estimated = result.bias.reindex([f"w{w}" for w in range(10)]).to_numpy()
    assert np.corrcoef(estimated, offsets)[0, 1] > 0.98
    assert np.isfinite(result.shrinkage) and result.shrinkage < 1.0  # little noise, big biases


def test_workers_with_few_ratings_are_barely_corrected() -> None:
    rng = np.random.default_rng(4)
    offsets = rng.normal(0.0, 8.0, 8)
    data, truth = ratings(5, offsets, noise=15.0)
    # A newcomer rates one task 20 points above its truth, which the noise alone could do.
    newcomer = pd.DataFrame({"task": ["t0"], "worker": ["new"], "label": [truth["t0"] + 20.0]})
    result = aggregate_ratings(pd.concat([data, newcomer], ignore_index=True))
    lam = result.shrinkage
    assert 1.0 < lam < 20.0  # sigma^2 / tau^2 is about 225 / 64 here
    residual = 20.0 + truth["t0"] - result.values["t0"]
    # Shrunk by 1 / (1 + lambda): a small share of the newcomer's apparent offset is removed,
    # while a prolific worker (about 110 ratings) keeps almost all of theirs.
    assert abs(result.bias["new"]) < 0.4 * abs(residual)
    heavy = result.bias.drop("new")
    true_heavy = pd.Series(offsets, index=[f"w{w}" for w in range(8)]).reindex(heavy.index)
    assert np.corrcoef(heavy, true_heavy)[0, 1] > 0.95


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_bias_gives_the_mean(seed: int) -> None:
    data, _ = ratings(seed, np.zeros(10), noise=10.0)
    result = aggregate_ratings(data)
    plain = data.groupby("task")["label"].mean().reindex(result.values.index)
    # Either no bias is detected at all (lambda infinite: exactly the mean) or what is left
    # is heavily shrunk: far below the noise (10 / sqrt(3) ~ 5.8 per task).
    assert float(np.abs(result.values - plain).max()) < 0.5
    assert float(result.bias.abs().max()) < 0.5


def test_fixed_shrinkage_keeps_the_old_behaviour() -> None:
    data = pd.DataFrame(
        {
            "task": ["a", "a", "b", "b"],
            "worker": ["harsh", "kind", "harsh", "kind"],
            "label": [10.0, 30.0, 50.0, 70.0],
        }
    )
    # Raw offsets -10 and +10 on 2 ratings each; lambda = 0 removes them entirely.
    exact = aggregate_ratings(data, shrinkage=0.0)
    assert exact.bias.to_dict() == pytest.approx({"harsh": -10.0, "kind": 10.0})
    assert exact.values.to_dict() == pytest.approx({"a": 20.0, "b": 60.0})
    assert exact.shrinkage == 0.0
    # Auto: two tasks and two workers leave no degree of freedom to tell bias from noise.
    auto = aggregate_ratings(data)
    assert auto.shrinkage == np.inf
    assert auto.bias.to_dict() == {"harsh": 0.0, "kind": 0.0}


def test_empty_input() -> None:
    result = aggregate_ratings(pd.DataFrame({"task": [], "worker": [], "label": []}))
    assert result.values.empty and result.bias.empty
