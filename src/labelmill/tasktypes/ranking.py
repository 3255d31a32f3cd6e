"""Ranking: order N responses to a prompt, best first, ties optional.

A ranking is a list of tiers, best first, each a list of response indices; every index
appears exactly once. A flat list (``[2, 0, 1]``) is accepted and read as single tiers.
Without ``allow_ties`` every tier holds one index.

Widget contract: ``worker_view`` gives ``prompt``, ``responses`` and ``allow_ties`` (never
``response_ids``, which often name the models); the widget answers ``{"ranking": tiers}``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from labelmill.tasktypes.base import Answer, Loc, ParamsError, Settlement, TaskType, validate_model
from labelmill.tasktypes.votes import weights

#: Share of discordant pairs (a tie against an order counting half) up to which two rankings
#: count as the same answer: one adjacent swap among five responses (0.1) agrees, among
#: four (0.17) it does not.
AGREEMENT_DISTANCE = 0.1

Tiers = list[list[int]]


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    allow_ties: bool = False


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(default="", max_length=1_000_000)
    responses: list[str] = Field(min_length=2, max_length=20)
    response_ids: list[str] | None = None


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked by hand: a union of flat and tiered shapes would name pydantic's union
    # members, not the entry, in its errors.
    ranking: list[Any] = Field(
        min_length=1,
        max_length=20,
        description="Tiers best first, each a list of response indices; or a flat list.",
        json_schema_extra={
            "items": {
                "anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]
            }
        },
    )


def _tiers(raw: Sequence[Any], n: int, *, allow_ties: bool) -> Tiers:
    """The ranking as tiers of sorted indices, or ``ParamsError`` naming the bad entry."""
    problems: list[tuple[Loc, str]] = []
    tiers: Tiers = []
    seen: set[int] = set()
    for t, entry in enumerate(raw):
        members = entry if isinstance(entry, list) else [entry]
        if not members:
            problems.append((("ranking", t), "a tier must hold at least one response"))
        if len(members) > 1 and not allow_ties:
            problems.append((("ranking", t), "ties are not allowed in this project"))
        for j, index in enumerate(members):
            loc: Loc = ("ranking", t, j) if isinstance(entry, list) else ("ranking", t)
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                problems.append((loc, f"{index!r} is not a response index (0 to {n - 1})"))
            elif index in seen:
                problems.append((loc, f"response {index} is ranked twice"))
            else:
                seen.add(index)
        tiers.append(sorted(i for i in members if isinstance(i, int)))
    missing = [i for i in range(n) if i not in seen]
    if missing and not problems:
        problems.append((("ranking",), f"not a permutation: responses {missing} are not ranked"))
    if problems:
        raise ParamsError(problems)
    return tiers


def _positions(tiers: Sequence[Sequence[int]]) -> dict[int, int]:
    return {i: t for t, tier in enumerate(tiers) for i in tier}


def discordance(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> float:
    """Share of pairs the two rankings order differently: opposite orders count 1, a tie in
    one against an order in the other counts 1/2 (Kendall's distance with ties)."""
    pa, pb = _positions(a), _positions(b)
    pairs = list(combinations(sorted(pa), 2))
    if not pairs:
        return 0.0
    total = 0.0
    for i, j in pairs:
        da, db = pa[i] - pa[j], pb[i] - pb[j]
        if da * db < 0:
            total += 1.0
        elif (da == 0) != (db == 0):
            total += 0.5
    return total / len(pairs)


def preference_matrix(
    rankings: Sequence[Sequence[Sequence[int]]], weights_: Sequence[float], n: int
) -> list[list[float]]:
    """``p[i][j]``: weight of the rankings that put i above j, plus half of those that tie
    them."""
    p = [[0.0] * n for _ in range(n)]
    for tiers, w in zip(rankings, weights_, strict=True):
        where = _positions(tiers)
        for i, j in combinations(range(n), 2):
            if where[i] < where[j]:
                p[i][j] += w
            elif where[j] < where[i]:
                p[j][i] += w
            else:
                p[i][j] += w / 2
                p[j][i] += w / 2
    return p


def consensus(
    rankings: list[Any], w: list[float], p: list[list[float]], *, allow_ties: bool
) -> Tiers:
    """The Kemeny consensus of the weighted rankings, as tiers.

    The order minimises the weighted Kendall distance to the rankings
    (``labelmill.quality.kemeny_consensus``: exact up to 8 responses, Borda then local
    search beyond). With ``allow_ties`` adjacent items the preferences ``p`` cannot separate
    (equal weight each way) share a tier.
    """
    from labelmill.quality.kemeny import kemeny_consensus

    order = [int(i) for i in kemeny_consensus(rankings, w).order]
    tiers: Tiers = [[order[0]]]
    for a, b in zip(order, order[1:], strict=False):
        if allow_ties and abs(p[a][b] - p[b][a]) <= 1e-12:
            tiers[-1].append(b)
        else:
            tiers.append([b])
    return [sorted(tier) for tier in tiers]


class Ranking(TaskType):
    name: ClassVar[str] = "ranking"
    description: ClassVar[str] = "Order 2 to 20 responses to a prompt, best first; ties optional."
    widget: ClassVar[str] = "ranking"
    aggregator: ClassVar[str] = (
        "labelmill.quality.kemeny_consensus (weighted Kemeny order); "
        "labelmill.quality.vote_confidence on each adjacent pair of the consensus"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        return params.model_dump()

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        params = validate_model(TaskParams, raw)
        assert isinstance(params, TaskParams)
        ids = params.response_ids
        if ids is not None:
            if len(ids) != len(params.responses):
                raise ParamsError(
                    [(("response_ids",), "give one id per response, in the same order")]
                )
            if len(set(ids)) != len(ids):
                raise ParamsError([(("response_ids",), "response ids must be unique")])
        return params.model_dump(exclude_none=True)

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        n = len(task_params["responses"])
        allow_ties = bool(project_params.get("allow_ties"))
        return {"ranking": _tiers(response.ranking, n, allow_ties=allow_ties)}

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        return tuple(tuple(int(i) for i in tier) for tier in response["ranking"])

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        return discordance(response["ranking"], reference["ranking"]) <= AGREEMENT_DISTANCE

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Consensus of the skill-weighted rankings (see :func:`consensus`). Confidence: the
        least confident adjacent decision of the consensus, each ``vote_confidence`` of the
        weight for it against the weight against it (for two items in one tier: the weight
        that tied them against the weight that ordered them)."""
        from labelmill.quality.pairwise import vote_confidence

        if not answers:
            return Settlement(False, None, 0.0)
        n = len(task_params["responses"])
        w = weights(answers)
        rankings = [a.response["ranking"] for a in answers]
        p = preference_matrix(rankings, w, n)
        tiers = consensus(rankings, w, p, allow_ties=bool(project_params.get("allow_ties")))
        confidence = 1.0
        for tier, next_tier in zip(tiers, [*tiers[1:], []], strict=True):
            for a, b in zip(tier, tier[1:], strict=False):
                tied = sum(wi for r, wi in zip(rankings, w, strict=True) if _tied(r, a, b))
                confidence = min(confidence, float(vote_confidence(tied, sum(w) - tied)))
            if next_tier:
                # The weakest link between the two tiers decides their order's confidence.
                for a in tier:
                    for b in next_tier:
                        confidence = min(confidence, float(vote_confidence(p[a][b], p[b][a])))
        done = confidence >= confidence_target or at_max_labels
        return Settlement(done, {"ranking": tiers} if done else None, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "prompt": task_params.get("prompt", ""),
            "responses": list(task_params["responses"]),
            "allow_ties": bool(project_params.get("allow_ties")),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"ranking": [[i] for i in range(len(task_params["responses"]))]}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"ranking": ""}
        return {"ranking": json.dumps(response["ranking"])}


def _tied(tiers: Sequence[Sequence[int]], a: int, b: int) -> bool:
    return any(a in tier and b in tier for tier in tiers)
