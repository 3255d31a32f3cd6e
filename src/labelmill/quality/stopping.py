"""Stopping rule for dynamic overlap: is one more label on this task worth buying?"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Accuracy assumed for a worker we know nothing about: better than chance, not trusted much.
DEFAULT_SKILL = 0.7

#: How many answers the prior of :func:`shrunk_skill` is worth.
SKILL_PRIOR_STRENGTH = 4.0


def shrunk_skill(
    correct: float,
    total: float,
    *,
    prior: float = DEFAULT_SKILL,
    strength: float = SKILL_PRIOR_STRENGTH,
) -> float:
    r"""A worker's accuracy from ``correct`` of ``total`` checked answers (gold answers and
    agreement with completed answers), shrunk towards ``prior`` by a Beta prior worth
    ``strength`` answers:

    .. math:: \hat s = \frac{x + \text{prior}\cdot m}{n + m}.

    A new worker starts at ``prior``; one lucky answer moves them only a little; after many
    answers the estimate is their observed rate. (The posterior mean of a Beta(prior·m,
    (1-prior)·m) prior.)
    """
    if total < 0 or correct < 0 or correct > total:
        raise ValueError("need 0 <= correct <= total")
    return (correct + prior * strength) / (total + strength)


@dataclass(frozen=True, slots=True)
class StopDecision:
    """What the stopping rule concluded about one task."""

    answer: Hashable | None
    """Most probable label so far (``None`` before the first answer)."""
    confidence: float
    """Posterior probability of ``answer`` under the one-coin model."""
    done: bool
    """True when no further label is needed."""


def posterior_one_coin(
    labels: Sequence[Hashable],
    workers: Sequence[Hashable],
    skills: Mapping[Hashable, float],
    *,
    n_classes: int | None = None,
    default_skill: float = DEFAULT_SKILL,
    priors: Mapping[Hashable, float] | None = None,
) -> dict[Hashable, float]:
    r"""Posterior over one task's label given its answers, workers of known accuracy.

    One-coin model: worker :math:`j` answers correctly with probability :math:`s_j` and otherwise
    picks one of the :math:`K-1` wrong classes uniformly, so

    .. math:: P(z = k \mid y) \propto p_k \prod_j s_j^{[y_j = k]}
              \left(\tfrac{1 - s_j}{K-1}\right)^{[y_j \ne k]}.

    Computed in log space with a max shift. Classes never named share the mass of "some other
    class": with ``n_classes`` = K larger than the number of distinct answers, each unseen class
    gets its own (equal) posterior, included in the normalization but not returned. Skills are
    clipped to [1e-3, 1 - 1e-3] so one "perfect" worker cannot end the discussion alone.
    """
    if len(labels) != len(workers):
        raise ValueError("labels and workers must have the same length")
    classes = list(dict.fromkeys(labels))
    if priors:
        classes += [c for c in priors if c not in classes]
    n_seen = len(classes)
    k = max(n_classes or 0, n_seen, 2)
    if not labels:
        return dict.fromkeys(classes, 1.0 / k)
    s = np.clip(
        np.array([skills.get(w, default_skill) for w in workers], dtype=np.float64), 1e-3, 1 - 1e-3
    )
    log_right = np.log(s)
    log_wrong = np.log((1.0 - s) / (k - 1))
    codes = np.array([classes.index(y) for y in labels])
    # Start from "every answer is wrong" for every class, then credit the class each one names.
    scores = np.full(n_seen + 1, log_wrong.sum())  # last slot: one unseen class
    np.add.at(scores, codes, log_right - log_wrong)
    prior = np.full(n_seen + 1, 1.0 / k)
    if priors:
        known = np.array([priors.get(c, 0.0) for c in classes])
        unseen_mass = max(1.0 - known.sum(), 0.0) / max(k - n_seen, 1)
        prior = np.append(known, unseen_mass)
    log_post = scores + np.log(np.maximum(prior, 1e-300))
    log_post -= log_post.max()
    weights = np.exp(log_post)
    weights[-1] *= k - n_seen  # the unseen slot stands for k - n_seen identical classes
    weights /= weights.sum()
    return {c: float(p) for c, p in zip(classes, weights[:-1], strict=True)}


def should_stop(
    labels: Sequence[Hashable],
    workers: Sequence[Hashable],
    skills: Mapping[Hashable, float],
    *,
    target: float = 0.95,
    min_labels: int = 1,
    max_labels: int | None = None,
    n_classes: int | None = None,
    default_skill: float = DEFAULT_SKILL,
    priors: Mapping[Hashable, float] | None = None,
) -> StopDecision:
    """Decide whether a task's answers so far are enough (the dynamic-overlap rule).

    ``done`` is true once at least ``min_labels`` answers are in and the one-coin posterior of the
    leading answer (see :func:`posterior_one_coin`) reaches ``target``, or when ``max_labels``
    answers are in whatever the confidence.
    """
    posterior = posterior_one_coin(
        labels, workers, skills, n_classes=n_classes, default_skill=default_skill, priors=priors
    )
    if not posterior or not labels:
        return StopDecision(answer=None, confidence=0.0, done=max_labels == 0)
    answer = max(posterior, key=lambda c: posterior[c])
    confidence = posterior[answer]
    enough = len(labels) >= min_labels and confidence >= target
    capped = max_labels is not None and len(labels) >= max_labels
    return StopDecision(answer=answer, confidence=confidence, done=enough or capped)
