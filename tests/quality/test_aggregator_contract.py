"""Every categorical aggregator: the crowd-kit contract, edge cases and symmetry properties."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labelmill.quality import (
    GLAD,
    MACE,
    BaseClassificationAggregator,
    DawidSkene,
    GoldDawidSkene,
    HierarchicalDawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
    ZeroBasedSkill,
)

from ._crowd import answers, make_crowd

FACTORIES: list[Callable[[], BaseClassificationAggregator]] = [
    MajorityVote,
    Wawa,
    ZeroBasedSkill,
    DawidSkene,
    lambda: DawidSkene(smoothing=0.1, one_coin_below="auto"),
    HierarchicalDawidSkene,
    OneCoinDawidSkene,
    GoldDawidSkene,
    lambda: GLAD(n_iter=20),
    # No initial noise: a deterministic, label-symmetric start (for the relabelling property).
    lambda: MACE(n_restarts=1, n_iter=20, default_noise=0.0),
]
IDS = ["MV", "Wawa", "ZBS", "DS", "DS-robust", "HierDS", "OneCoinDS", "GoldDS", "GLAD", "MACE"]
FAST = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# For the symmetry property: a fixed number of EM iterations (tol < 0), so that the test checks
# the algebra and not where a float comparison on a likelihood plateau happens to stop.
SYMMETRY_FACTORIES: list[Callable[[], BaseClassificationAggregator]] = [
    MajorityVote,
    Wawa,
    ZeroBasedSkill,
    lambda: DawidSkene(n_iter=15, tol=-1.0),
    lambda: DawidSkene(smoothing=0.1, one_coin_below="auto", n_iter=15, tol=-1.0),
    lambda: HierarchicalDawidSkene(n_iter=15, tol=-1.0),
    lambda: OneCoinDawidSkene(n_iter=15, tol=-1.0),
    lambda: GoldDawidSkene(n_iter=15, tol=-1.0),
    lambda: GLAD(n_iter=10),
    lambda: MACE(n_restarts=1, n_iter=20, default_noise=0.0),
]
#: These take hard majority decisions inside, where a tie goes to the first class in label order.
HARD_VOTE = {"Wawa", "ZBS"}


def _has_vote_tie(data: pd.DataFrame) -> bool:
    probas = MajorityVote().fit_predict_proba(data).to_numpy()
    top2 = np.sort(probas, axis=1)[:, -2:]
    return bool(top2.shape[1] == 2 and np.any(np.isclose(top2[:, 0], top2[:, 1])))


def _check_contract(model: BaseClassificationAggregator, data: pd.DataFrame) -> None:
    assert model.fit(data) is model
    labels, probas = model.labels_, model.probas_
    tasks = pd.unique(data.dropna()["task"])
    assert labels.index.name == "task"
    assert probas.index.name == "task"
    assert set(labels.index) == set(tasks) == set(probas.index)
    assert set(probas.columns) >= set(data.dropna()["label"])
    np.testing.assert_allclose(probas.sum(axis=1).to_numpy(), 1.0, atol=1e-9)
    assert ((probas.to_numpy() >= 0) & (probas.to_numpy() <= 1 + 1e-12)).all()
    # The label is a most probable class.
    chosen = probas.to_numpy()[np.arange(len(labels)), probas.columns.get_indexer(labels)]
    np.testing.assert_allclose(chosen, probas.max(axis=1).to_numpy())
    pd.testing.assert_series_equal(model.fit_predict(data), labels)
    pd.testing.assert_frame_equal(model.fit_predict_proba(data), probas)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_contract_on_a_crowd(factory: Callable[[], BaseClassificationAggregator]) -> None:
    data, truth = make_crowd(n_tasks=60, seed=21)
    model = factory()
    _check_contract(model, data)
    assert (model.labels_ == truth[model.labels_.index]).mean() > 0.8


EDGE_CASES = {
    "one worker": answers([("t1", "w", "a"), ("t2", "w", "b"), ("t3", "w", "a")]),
    "one label per task": answers([("t1", "u", "a"), ("t2", "v", "b"), ("t3", "w", "c")]),
    "unanimous": answers([(t, w, "yes") for t in ("t1", "t2") for w in ("u", "v", "w")]),
    "label seen once": answers(
        [(t, w, "a") for t in ("t1", "t2", "t3") for w in ("u", "v")] + [("t4", "u", "rare")]
    ),
    "integer ids and labels": answers([(1, 10, 0), (1, 11, 1), (2, 10, 1), (2, 11, 1)]),
    "missing label row dropped": answers([("t1", "u", "a"), ("t1", "v", None), ("t2", "u", "b")]),
}


@pytest.mark.parametrize("case", list(EDGE_CASES), ids=list(EDGE_CASES))
@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_edge_cases(factory: Callable[[], BaseClassificationAggregator], case: str) -> None:
    data = EDGE_CASES[case]
    model = factory()
    _check_contract(model, data)
    if case == "unanimous":
        assert (model.labels_ == "yes").all()
    if case == "one worker":
        assert model.labels_.to_dict() == {"t1": "a", "t2": "b", "t3": "a"}
    maximum_likelihood_ds = isinstance(model, DawidSkene) and model.one_coin_below == 0
    if case == "one label per task" and not maximum_likelihood_ds:
        # (Maximum-likelihood DS is not identifiable here: "each worker always gives the label
        # it gave" explains the data perfectly, so its posterior is uniform. The robust
        # variant, with one-coin workers, must do as well as a vote.)
        assert model.labels_.to_dict() == {"t1": "a", "t2": "b", "t3": "c"}


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_empty_input(factory: Callable[[], BaseClassificationAggregator]) -> None:
    model = factory().fit(answers([]))
    assert len(model.labels_) == 0
    assert model.probas_.shape[0] == 0


def test_missing_columns_are_reported() -> None:
    with pytest.raises(ValueError, match="missing"):
        DawidSkene().fit(pd.DataFrame({"task": [1], "label": ["a"]}))


crowds = st.builds(
    lambda seed, n_tasks, per_task, n_classes: make_crowd(
        n_tasks=n_tasks, per_task=per_task, n_classes=n_classes, seed=seed
    )[0],
    seed=st.integers(0, 10_000),
    n_tasks=st.integers(1, 25),
    per_task=st.integers(1, 5),
    n_classes=st.integers(2, 4),
)


@pytest.mark.parametrize("factory", SYMMETRY_FACTORIES, ids=IDS)
@FAST
@given(data=crowds, rotation=st.integers(1, 3))
def test_relabelling_classes_permutes_the_output(
    factory: Callable[[], BaseClassificationAggregator],
    data: pd.DataFrame,
    rotation: int,
    request: pytest.FixtureRequest,
) -> None:
    if request.node.callspec.id in HARD_VOTE:
        assume(not _has_vote_tie(data))
    classes = sorted(data["label"].unique())
    # A permutation that also changes the classes' sort order (so their internal codes).
    mapping = {c: f"k{(i + rotation) % len(classes)}" for i, c in enumerate(classes)}
    renamed = data.assign(label=data["label"].map(mapping))
    before = factory().fit(data)
    after = factory().fit(renamed)
    expected = before.probas_.rename(columns=mapping)
    got = after.probas_[expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-6)
    # Labels must follow wherever the winner is clear (exact ties go to the first class).
    top2 = np.sort(before.probas_.to_numpy(), axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-6 if top2.shape[1] == 2 else np.ones(len(top2), bool)
    pd.testing.assert_series_equal(
        after.labels_[clear], before.labels_.map(mapping)[clear], check_dtype=False
    )


@FAST
@given(data=crowds)
def test_duplicating_every_worker_keeps_majority_vote_answers(data: pd.DataFrame) -> None:
    twin = data.assign(worker=data["worker"] + "-twin")
    doubled = pd.concat([data, twin], ignore_index=True)
    for model in (MajorityVote(), Wawa()):
        pd.testing.assert_series_equal(model.fit_predict(doubled), model.fit_predict(data))
        pd.testing.assert_frame_equal(
            model.fit_predict_proba(doubled), model.fit_predict_proba(data)
        )


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
@FAST
@given(data=crowds)
def test_renaming_workers_and_tasks_changes_nothing(
    factory: Callable[[], BaseClassificationAggregator], data: pd.DataFrame
) -> None:
    renamed = data.assign(task="task-" + data["task"], worker=data["worker"].str.upper())
    before = factory().fit_predict_proba(data)
    after = factory().fit_predict_proba(renamed)
    np.testing.assert_allclose(after.to_numpy(), before.to_numpy(), atol=1e-9)
    assert list(after.index) == ["task-" + t for t in before.index]
