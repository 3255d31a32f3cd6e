"""Kemeny-style ranking consensus: hand-computed cases, brute-force optimum, invariances."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelmill.quality import (
    aggregate_rankings,
    kemeny_consensus,
    kemeny_rankings,
)
from labelmill.quality.kemeny import order_cost, preference_weights
from labelmill.quality.pairwise import vote_confidence

from ._crowd import answers


def brute_force_cost(rankings: list[Any], weights: list[float] | None = None) -> float:
    """Least weighted Kendall distance over every order, computed pair by pair from the
    rankings themselves (not from the module's preference matrix)."""
    items = sorted({x for r in rankings for e in r for x in (e if isinstance(e, list) else [e])})
    w = weights if weights is not None else [1.0] * len(rankings)

    def level(ranking: list[Any]) -> dict[Any, int]:
        where: dict[Any, int] = {}
        for t, entry in enumerate(ranking):
            for x in entry if isinstance(entry, list) else [entry]:
                where[x] = t
        return {x: where.get(x, len(ranking)) for x in items}

    levels = [level(r) for r in rankings]
    best = np.inf
    for order in permutations(items):
        cost = 0.0
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                for lv, wi in zip(levels, w, strict=True):
                    if lv[b] < lv[a]:
                        cost += wi
                    elif lv[a] == lv[b]:
                        cost += wi / 2
        best = min(best, cost)
    return float(best)


def test_weighted_condorcet_cycle_by_hand() -> None:
    # P(a>b) = 3, P(b>a) = 1, P(a>c) = 2, P(c>a) = 2, P(b>c) = 3, P(c>b) = 1 with weights 2,1,1:
    # a,b,c costs 1 + 2 + 1 = 4; b,c,a and c,a,b cost 6; every other order at least 5.
    result = kemeny_consensus([["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]], [2.0, 1.0, 1.0])
    assert result.order == ["a", "b", "c"]
    assert result.distance == pytest.approx(4.0)
    assert result.normalized_distance == pytest.approx(4.0 / (4.0 * 3))
    assert result.exact


def test_kemeny_keeps_the_condorcet_winner_where_borda_does_not() -> None:
    # 3 x (a,b,c), 2 x (b,c,a): Borda points a 6, b 7, c 2 -> b,a,c; but a beats b 3-2 and c
    # 3-2, so Kemeny gives a,b,c with distance 2 + 2 + 0 = 4 (b,a,c would cost 5).
    rows = [("t", f"w{i}", ["a", "b", "c"]) for i in range(3)]
    rows += [("t", f"v{i}", ["b", "c", "a"]) for i in range(2)]
    data = answers(rows)
    assert aggregate_rankings(data).rankings["t"] == ["b", "a", "c"]
    assert aggregate_rankings(data, method="kemeny").rankings["t"] == ["a", "b", "c"]
    detail = kemeny_rankings(data)
    assert detail.rankings["t"] == ["a", "b", "c"]
    # Weakest adjacent decision: a over b, 3 votes to 2.
    assert detail.confidence["t"] == pytest.approx(0.65625)  # I_{1/2}(3, 4) = 21/32
    assert detail.distance["t"] == pytest.approx(4.0 / (5 * 3))


def test_tiers_count_half_by_hand() -> None:
    # Two workers tie 0 and 1 below 2; one says 0,1,2. P[2,0] = 2, P[0,2] = 1, P[2,1] = 2,
    # P[1,2] = 1, P[0,1] = 0.5 * 2 + 1 = 2, P[1,0] = 1: order 2,0,1 costs 1 + 1 + 1 = 3.
    result = kemeny_consensus([[[2], [0, 1]], [[2], [0, 1]], [0, 1, 2]])
    assert result.order == [2, 0, 1]
    assert result.distance == pytest.approx(3.0)
    assert brute_force_cost([[[2], [0, 1]], [[2], [0, 1]], [0, 1, 2]]) == pytest.approx(3.0)


def test_tiers_in_output_merge_what_preferences_cannot_separate() -> None:
    result = kemeny_consensus([["x", "y", "z"], ["y", "x", "z"]])
    assert result.tiers == [["x", "y"], ["z"]]
    assert result.confidence == pytest.approx(0.5)


def test_skills_weight_the_workers() -> None:
    data = answers([("t", "good", ["p", "q", "r"]), ("t", "bad", ["r", "q", "p"])])
    assert kemeny_rankings(data, skills={"good": 0.9, "bad": 0.3}).rankings["t"] == [
        "p",
        "q",
        "r",
    ]
    assert kemeny_rankings(data, skills={"good": 0.3, "bad": 0.9}).rankings["t"] == [
        "r",
        "q",
        "p",
    ]


def test_unanimous_rankings_give_that_ranking_confidently() -> None:
    data = answers([("t", w, ["c", "a", "d", "b"]) for w in "abcd"])
    result = kemeny_rankings(data)
    assert result.rankings["t"] == ["c", "a", "d", "b"]
    assert result.distance["t"] == 0.0
    assert result.confidence["t"] == pytest.approx(1 - 2.0**-5)
    one = kemeny_rankings(answers([("t", "a", ["c", "a", "d", "b"])]))
    assert one.rankings["t"] == ["c", "a", "d", "b"]
    # One ranking is evidence, not proof: less confident than four that agree.
    assert one.confidence["t"] == pytest.approx(0.75)


def test_empty_input_and_single_item() -> None:
    empty = kemeny_consensus([])
    assert empty.order == [] and empty.confidence == 0.0
    frame = pd.DataFrame({"task": [], "worker": [], "label": []})
    result = kemeny_rankings(frame)
    assert result.rankings.empty and result.confidence.empty
    single = kemeny_consensus([["only"], ["only"]])
    assert single.order == ["only"] and single.confidence == 1.0


def test_left_out_items_go_below_ranked_ones() -> None:
    result = kemeny_consensus([["a", "b"], ["c", "a", "b"], ["a", "c"]])
    # a over c 2-1 (the first ranking left c out); c over b 2-0.5.
    assert result.order == ["a", "c", "b"]


def test_local_search_above_the_exact_size_recovers_a_noisy_truth() -> None:
    rng = np.random.default_rng(3)
    truth = list(rng.permutation(14))
    rankings = []
    for _ in range(9):
        noisy = np.arange(14) + rng.normal(0.0, 2.0, 14)  # each worker blurs the places
        rankings.append([truth[i] for i in np.argsort(noisy)])
    result = kemeny_consensus(rankings)
    assert not result.exact
    items, p = preference_weights(rankings)
    order = [items.index(x) for x in result.order]
    borda = list(np.argsort(-p.sum(axis=1), kind="stable"))
    assert result.distance <= order_cost(borda, p) + 1e-9
    # Locally optimal: no single item moved anywhere lowers the distance.
    for a in range(14):
        for b in range(14):
            moved = order.copy()
            moved.insert(b, moved.pop(a))
            assert order_cost(moved, p) >= result.distance - 1e-9
    # Kendall distance to the truth: far below a random order's expected 45.5 of 91 pairs.
    where = {x: i for i, x in enumerate(result.order)}
    wrong = sum(where[truth[i]] > where[truth[j]] for i in range(14) for j in range(i + 1, 14))
    assert wrong <= 8


def test_exact_beats_local_search_where_local_is_stuck() -> None:
    # Forcing local search on an exact-sized instance must never beat the exact optimum.
    rankings = [
        ["a", "b", "c", "d"],
        ["b", "c", "d", "a"],
        ["c", "d", "a", "b"],
        ["d", "a", "b", "c"],
    ]
    exact = kemeny_consensus(rankings, [1.0, 0.7, 0.5, 0.2])
    local = kemeny_consensus(rankings, [1.0, 0.7, 0.5, 0.2], exact_max=0)
    assert exact.distance <= local.distance + 1e-12
    assert exact.distance == pytest.approx(brute_force_cost(rankings, [1.0, 0.7, 0.5, 0.2]))


def _entry(draw: st.DrawFn, items: list[int]) -> list[Any]:
    """A random ranking of ``items`` (a subset, in random order, with random tiers)."""
    chosen = draw(st.permutations(items))
    keep = draw(st.integers(1, len(items)))
    chosen = list(chosen[:keep])
    cuts = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    tiers: list[list[int]] = []
    for x, new in zip(chosen, cuts, strict=True):
        if new or not tiers:
            tiers.append([x])
        else:
            tiers[-1].append(x)
    return [t[0] if len(t) == 1 else t for t in tiers]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Any], list[float]]:
    n = draw(st.integers(1, 6))
    items = list(range(n))
    m = draw(st.integers(1, 5))
    rankings = [_entry(draw, items) for _ in range(m)]
    weights = draw(st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]), min_size=m, max_size=m))
    return rankings, weights


@settings(max_examples=60, deadline=None)
@given(instances())
def test_distance_equals_the_brute_force_optimum(case: tuple[list[Any], list[float]]) -> None:
    rankings, weights = case
    result = kemeny_consensus(rankings, weights)
    assert result.distance == pytest.approx(brute_force_cost(rankings, weights))
    assert sorted(result.order) == sorted(
        {x for r in rankings for e in r for x in (e if isinstance(e, list) else [e])}
    )
    # Local search from Borda is never better than the optimum.
    assert kemeny_consensus(rankings, weights, exact_max=0).distance >= result.distance - 1e-9


@settings(max_examples=40, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_relabelling_items_permutes_the_output(
    case: tuple[list[Any], list[float]], rnd: Any
) -> None:
    rankings, weights = case
    names = [f"item{k}" for k in range(7)]
    rnd.shuffle(names)

    def rename(r: list[Any]) -> list[Any]:
        return [[names[x] for x in e] if isinstance(e, list) else names[e] for e in r]

    original = kemeny_consensus(rankings, weights)
    renamed = kemeny_consensus([rename(r) for r in rankings], weights)
    assert renamed.order == [names[x] for x in original.order]
    assert renamed.confidence == pytest.approx(original.confidence)


# --- aggregate_rankings(method="kemeny") in ranking.py: its confidence, agreement, distance ---


def test_aggregate_rankings_kemeny_fields_by_hand() -> None:
    rows: list[tuple[object, object, object]] = [
        ("t", "w1", ["a", "b", "c"]),
        ("t", "w2", ["a", "b", "c"]),
        ("t", "w3", ["b", "c", "a"]),
        ("t", "w4", ["b", "c", "a"]),
        ("t", "w5", ["c", "b", "a"]),
    ]
    borda = aggregate_rankings(answers(rows))
    kemeny = aggregate_rankings(answers(rows), method="kemeny")
    # Borda points a 4, b 7, c 4 -> b, a, c; the majorities b>a 3-2, c>a 3-2, b>c 4-1.
    assert borda.rankings["t"] == ["b", "a", "c"]
    assert kemeny.rankings["t"] == ["b", "c", "a"]
    assert borda.distance is not None and kemeny.distance is not None
    assert kemeny.agreement is not None
    assert borda.distance["t"] == pytest.approx(6.0)
    assert kemeny.distance["t"] == pytest.approx(5.0)
    assert kemeny.agreement["t"] == pytest.approx(1 - 5 / 15)
    # The weakest adjacent decision of b, c, a: b>c 4-1 and c>a 3-2, so vote_confidence(3, 2).
    assert kemeny.confidence["t"] == pytest.approx(float(vote_confidence(3, 2)))


def test_aggregate_rankings_kemeny_confidence_counts_evidence() -> None:
    one = aggregate_rankings(answers([("t", "w", ["x", "y", "z"])]), method="kemeny")
    assert one.confidence["t"] == pytest.approx(0.75)  # Kendall's W would say 1.0
    rows = [("t", w, ["x", "y", "z"]) for w in "abc"]
    three = aggregate_rankings(answers(rows), method="kemeny")
    assert three.confidence["t"] == pytest.approx(1 - 2**-4)


def test_aggregate_rankings_rejects_bad_input_naming_the_field() -> None:
    with pytest.raises(ValueError, match="method"):
        aggregate_rankings(answers([("t", "w", ["x"])]), method="copeland")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="label"):
        aggregate_rankings(answers([("t", "w", "xyz")]), method="kemeny")
    with pytest.raises(ValueError, match="label"):
        aggregate_rankings(answers([("t", "w", ["x", "x"])]))
    with pytest.raises(ValueError, match="skills"):
        aggregate_rankings(answers([("t", "w", ["x", "y"])]), skills={"w": -1.0})
