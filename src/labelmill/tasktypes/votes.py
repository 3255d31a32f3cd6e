"""Per-field decisions shared by the preference, rating and form types.

A task of these types is settled field by field: a choice by a skill-weighted vote, a number
on a scale by a skill-weighted mean, a free text by normalised exact match. Each decision
comes with a confidence; a task's confidence is its least confident decision.

Kept free of numpy at import time (``labelmill import`` loads task types): the vote's
confidence imports ``labelmill.quality`` when it is first computed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeGuard

from pydantic import AllowInfNan, Strict

from labelmill.tasktypes.base import Answer

#: A JSON number: strict so that ``true`` is not taken for 1, finite so that NaN is refused.
Number = Annotated[float, Strict(), AllowInfNan(False)]

#: Pseudo-ratings of the prior on raters' spread (as ``quality.ratings.VARIANCE_PRIOR_DOF``).
SPREAD_PRIOR_DOF = 2.0


def weights(answers: Sequence[Answer]) -> list[float]:
    """Each answer's weight: its worker's skill, or the prior skill when unknown."""
    from labelmill.quality.stopping import DEFAULT_SKILL

    return [a.skill if a.skill is not None else DEFAULT_SKILL for a in answers]


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (not a boolean), finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def on_step(value: float, low: float, step: float) -> bool:
    """Whether ``value`` is ``low`` plus a whole number of ``step``s (up to rounding)."""
    k = (value - low) / step
    return abs(k - round(k)) < 1e-9


def tidy_number(value: float) -> int | float:
    """4.0 → 4: integral values as ints, so equal answers serialise the same."""
    return int(value) if float(value).is_integer() else value


def normalise_text(text: str) -> str:
    """The form under which two free texts count as the same answer: case and runs of
    whitespace do not matter."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Decision:
    """One field's settled value and how sure the answers make it."""

    value: Any
    confidence: float


def vote(values: Sequence[Hashable], weights_: Sequence[float]) -> Decision:
    """Skill-weighted vote: the value with the most weight (the first seen on a tie), with
    ``labelmill.quality.vote_confidence`` of its weight against everyone else's (0.5 on a
    tie, rising with agreeing weight)."""
    from labelmill.quality.pairwise import vote_confidence

    totals: dict[Hashable, float] = {}
    for value, weight in zip(values, weights_, strict=True):
        totals[value] = totals.get(value, 0.0) + weight
    winner = max(totals, key=lambda v: totals[v])
    support = totals[winner]
    against = sum(totals.values()) - support
    return Decision(winner, float(vote_confidence(support, against)))


def scale_estimate(
    values: Sequence[float], weights_: Sequence[float], *, low: float, high: float, step: float
) -> Decision:
    r"""Skill-weighted mean of ratings on a ``low``..``high`` scale, with the probability that
    it lies within one ``step`` of the population's mean rating.

    The raters' spread :math:`\sigma` gets the conjugate prior of ``quality.aggregate_ratings``
    worth :math:`d_0` = 2 ratings, centred on the spread of ratings drawn uniformly over the
    scale (:math:`s_0^2 = (\text{high} - \text{low})^2 / 12`): before seeing a task's raters,
    their disagreement is assumed as wide as random ratings. With :math:`n` ratings, weights
    :math:`w` (skills, normalised to sum to :math:`n` for the residual sum of squares
    :math:`S`), :math:`\tilde\sigma^2 = (d_0 s_0^2 + S) / (d_0 + n - 1)` and the standard error
    is :math:`\tilde\sigma / \sqrt{\sum w}`: as in ``vote_confidence``, a weight is a
    fractional rating, so less skilled raters are less evidence. The confidence is
    :math:`P(|\mu - \hat\mu| < \text{step})` under a normal posterior: the same tolerance as
    ``agrees`` (every criterion within one step). On a 1-5 scale, raters of the prior skill
    0.7 who agree give 0.79 (two), 0.92 (three), 0.98 (four).
    """
    total = sum(weights_)
    n = len(values)
    mean = sum(w * v for v, w in zip(values, weights_, strict=True)) / total
    residual = sum(w * (v - mean) ** 2 for v, w in zip(values, weights_, strict=True)) * n / total
    prior_var = (high - low) ** 2 / 12.0
    spread = math.sqrt((SPREAD_PRIOR_DOF * prior_var + residual) / (SPREAD_PRIOR_DOF + n - 1))
    stderr = spread / math.sqrt(total)
    confidence = math.erf(step / (stderr * math.sqrt(2.0)))
    return Decision(tidy_number(round(mean, 6)), confidence)


def heaviest(answers: Sequence[Answer], weights_: Sequence[float], key: str) -> int | None:
    """Index of the most skilled answer whose ``key`` (in ``answer.response``) is set and not
    blank, the earliest on a tie; None if none has it."""
    best: int | None = None
    for i, answer in enumerate(answers):
        value = answer.response.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if best is None or weights_[i] > weights_[best]:
            best = i
    return best
