"""Ranking: permutations as tiers, ties only where allowed, weighted consensus."""

from __future__ import annotations

from typing import Any

import pytest

from labelmill.tasktypes import Answer, ParamsError, get_task_type
from labelmill.tasktypes.ranking import discordance

TYPE = get_task_type("ranking")
assert TYPE is not None

TASK = {"prompt": "Best answer?", "responses": ["r0", "r1", "r2"]}
PLAIN = TYPE.validate_project_params({"instruction": "Order them"})
TIES = TYPE.validate_project_params({"allow_ties": True})


def _locs(excinfo: pytest.ExceptionInfo[ParamsError]) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in excinfo.value.problems]


def test_task_params() -> None:
    clean = TYPE.validate_task_params({**TASK, "response_ids": ["a", "b", "c"]}, PLAIN)
    assert clean["response_ids"] == ["a", "b", "c"]
    assert "response_ids" not in TYPE.worker_view(PLAIN, clean)
    for raw, loc in (
        ({"prompt": "p", "responses": ["only one"]}, ("responses",)),
        ({"prompt": "p", "responses": [str(i) for i in range(21)]}, ("responses",)),
        ({**TASK, "response_ids": ["a", "b"]}, ("response_ids",)),
        ({**TASK, "response_ids": ["a", "a", "b"]}, ("response_ids",)),
    ):
        with pytest.raises(ParamsError) as excinfo:
            TYPE.validate_task_params(raw, PLAIN)
        assert _locs(excinfo) == [loc]


def test_a_flat_list_is_normalised_to_single_tiers() -> None:
    assert TYPE.validate_response({"ranking": [2, 0, 1]}, PLAIN, TASK) == {
        "ranking": [[2], [0], [1]]
    }
    assert TYPE.validate_response({"ranking": [[2], [1, 0]]}, TIES, TASK) == {
        "ranking": [[2], [0, 1]]
    }


@pytest.mark.parametrize(
    ("ranking", "locs"),
    [
        ([0, 1], [("ranking",)]),  # response 2 left out
        ([0, 1, 1], [("ranking", 2)]),  # twice
        ([0, 1, 3], [("ranking", 2)]),  # no response 3
        ([0, 1, -1], [("ranking", 2)]),
        ([0, 1, True], [("ranking", 2)]),  # a boolean is not an index
        ([[0], [1, 2]], [("ranking", 1)]),  # a tie without allow_ties
        ([[0], [], [1, 2]], [("ranking", 1), ("ranking", 2)]),
        ([[0], [1, "x"], [2]], [("ranking", 1), ("ranking", 1, 1)]),
    ],
)
def test_a_ranking_must_be_a_permutation(ranking: list[Any], locs: list[Any]) -> None:
    with pytest.raises(ParamsError) as excinfo:
        TYPE.validate_response({"ranking": ranking}, PLAIN, TASK)
    assert _locs(excinfo) == locs


def test_placeholder_keys_agreement_and_flat_answer() -> None:
    placeholder = TYPE.placeholder_response(PLAIN, TASK)
    assert TYPE.validate_response(placeholder, PLAIN, TASK) == placeholder
    assert TYPE.answer_key({"ranking": [[1], [0, 2]]}) == ((1,), (0, 2))
    five = [[0], [1], [2], [3], [4]]
    swapped = [[0], [2], [1], [3], [4]]
    assert discordance(five, swapped) == pytest.approx(0.1)
    assert discordance([[0, 1], [2]], [[0], [1], [2]]) == pytest.approx(0.5 / 3)
    assert TYPE.agrees({"ranking": five}, {"ranking": swapped})
    assert not TYPE.agrees({"ranking": [[0], [2], [1]]}, {"ranking": [[0], [1], [2]]})
    assert not TYPE.agrees({"ranking": five}, {"ranking": five[::-1]})
    assert TYPE.flat_answer({"ranking": [[1], [0, 2]]}) == {"ranking": "[[1], [0, 2]]"}
    assert TYPE.flat_answer(None) == {"ranking": ""}


def _settle(
    rankings: list[list[list[int]]],
    *,
    skills: list[float | None] | None = None,
    params: dict[str, Any] = PLAIN,
    target: float = 0.8,
    at_max: bool = False,
) -> Any:
    skills = skills or [None] * len(rankings)
    answers = [
        Answer(i + 1, {"ranking": r}, s)
        for i, (r, s) in enumerate(zip(rankings, skills, strict=True))
    ]
    return TYPE.settle(
        answers,
        project_params=params,
        task_params=TASK,
        confidence_target=target,
        at_max_labels=at_max,
    )


def test_agreeing_rankings_complete_and_disagreement_asks_for_more() -> None:
    order = [[2], [0], [1]]
    agreeing = _settle([order, order, order])
    assert agreeing.complete and agreeing.response == {"ranking": order}
    # Every adjacent decision has 3 x 0.7 votes for it and none against.
    assert agreeing.confidence == pytest.approx(1 - 0.5**3.1)
    split = _settle([order, [[2], [1], [0]], order])
    assert not split.complete and split.confidence < agreeing.confidence
    capped = _settle([order, [[2], [1], [0]], order], at_max=True)
    assert capped.complete and capped.response == {"ranking": order}


def test_local_kemenization_fixes_what_borda_gets_wrong() -> None:
    # Borda points: 0 gets 3 x 1 + 2 x 2 = 7, 1 gets 3 x 2 = 6, so Borda ranks 0 first; but
    # three of five workers prefer 1 to 0 (and 1 to 2): the Kemeny order starts with 1.
    rankings = [[[1], [0], [2]]] * 3 + [[[0], [2], [1]]] * 2
    settled = _settle(rankings, at_max=True)
    assert settled.response == {"ranking": [[1], [0], [2]]}


def test_skill_weights_decide_the_order() -> None:
    rankings = [[[0], [1], [2]], [[0], [1], [2]], [[2], [1], [0]]]
    weighted = _settle(rankings, skills=[0.3, 0.3, 0.95], at_max=True)
    assert weighted.response == {"ranking": [[2], [1], [0]]}
    unweighted = _settle(rankings, at_max=True)
    assert unweighted.response == {"ranking": [[0], [1], [2]]}


def test_ties_in_the_consensus_only_where_allowed_and_undecided() -> None:
    tied = [[0, 1], [2]]
    settled = _settle([tied, tied], params=TIES, at_max=True)
    assert settled.response == {"ranking": tied}
    # Two workers ordering 0 and 1 oppositely: a tie where ties are allowed, with the
    # confidence of a 0-to-everything vote for that tie; an order (by index) otherwise.
    opposite = [[[0], [1], [2]], [[1], [0], [2]]]
    undecided = _settle(opposite, params=TIES, at_max=True)
    assert undecided.response == {"ranking": [[0, 1], [2]]}
    assert undecided.confidence == pytest.approx(0.5**2.4)
    forced = _settle(opposite, at_max=True)
    assert forced.response == {"ranking": [[0], [1], [2]]}
    assert forced.confidence == pytest.approx(0.5)


def test_settled_order_is_the_exact_weighted_kemeny_optimum() -> None:
    """On random weighted rankings the settled order has the least weighted Kendall distance
    of all orders (local swaps alone miss it on some of these)."""
    import itertools
    import random

    from labelmill.tasktypes.ranking import preference_matrix

    rng = random.Random(11)
    project = TYPE.validate_project_params({})
    for _ in range(60):
        n = rng.randint(3, 5)
        task = {"responses": [f"r{i}" for i in range(n)]}
        answers = []
        for worker in range(rng.randint(3, 6)):
            order = list(range(n))
            rng.shuffle(order)
            answers.append(
                Answer(worker, {"ranking": [[i] for i in order]}, rng.uniform(0.5, 0.95))
            )
        settled = TYPE.settle(
            answers,
            project_params=project,
            task_params=task,
            confidence_target=0.0,
            at_max_labels=True,
        )
        assert settled.response is not None
        p = preference_matrix(
            [a.response["ranking"] for a in answers], [a.skill or 0.0 for a in answers], n
        )

        def cost(order: tuple[int, ...] | list[int], p: list[list[float]] = p) -> float:
            return sum(p[b][a] for i, a in enumerate(order) for b in order[i + 1 :])

        chosen = [tier[0] for tier in settled.response["ranking"]]
        best = min(cost(o) for o in itertools.permutations(range(n)))
        assert cost(chosen) <= best + 1e-9
