"""Truth inference for crowd labels: aggregators, agreement metrics, worker skill, stopping rules.

Pure numpy/scipy/pandas; imports nothing else from labelmill. The categorical aggregators follow
crowd-kit's interface, so ``from crowdkit.aggregation import DawidSkene`` becomes
``from labelmill.quality import DawidSkene``.

Submodules load on first use of a name (PEP 562), so ``labelmill.quality.stopping``, which the
server needs on every completed task, does not pull in pandas and scipy (~0.9 s) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accuracy import wilson_interval, worker_accuracy
    from .agreement import cohens_kappa, fleiss_kappa, percent_agreement
    from .base import BaseClassificationAggregator
    from .boxes import BoxResult, aggregate_boxes, iou_matrix
    from .crowd_bt import CrowdBT
    from .dawid_skene import DawidSkene
    from .glad import GLAD
    from .gold_dawid_skene import GoldDawidSkene
    from .hierarchical_dawid_skene import HierarchicalDawidSkene
    from .kemeny import KemenyConsensus, KemenyResult, kemeny_consensus, kemeny_rankings
    from .krippendorff import krippendorff_alpha
    from .mace import MACE
    from .majority_vote import MajorityVote
    from .multilabel import MultiLabelResult, aggregate_multilabel
    from .one_coin_dawid_skene import OneCoinDawidSkene
    from .pairwise import PairwiseResult, aggregate_pairwise, bradley_terry, bt_probability
    from .ranking import RankingResult, aggregate_rankings
    from .ratings import RatingResult, aggregate_ratings
    from .robust import AggregationResult, aggregate
    from .spans import SpanResult, aggregate_spans
    from .stopping import (
        DEFAULT_SKILL,
        MATCH_SAMPLES,
        SKILL_PRIOR_STRENGTH,
        StopDecision,
        fixed_overlap_target,
        posterior_one_coin,
        should_stop,
        shrunk_skill,
    )
    from .wawa import Wawa
    from .zero_based_skill import ZeroBasedSkill

_WHERE: dict[str, str] = {
    "AggregationResult": ".robust",
    "BaseClassificationAggregator": ".base",
    "BoxResult": ".boxes",
    "CrowdBT": ".crowd_bt",
    "DEFAULT_SKILL": ".stopping",
    "DawidSkene": ".dawid_skene",
    "GLAD": ".glad",
    "GoldDawidSkene": ".gold_dawid_skene",
    "HierarchicalDawidSkene": ".hierarchical_dawid_skene",
    "KemenyConsensus": ".kemeny",
    "KemenyResult": ".kemeny",
    "MACE": ".mace",
    "MATCH_SAMPLES": ".stopping",
    "MajorityVote": ".majority_vote",
    "MultiLabelResult": ".multilabel",
    "OneCoinDawidSkene": ".one_coin_dawid_skene",
    "PairwiseResult": ".pairwise",
    "RankingResult": ".ranking",
    "RatingResult": ".ratings",
    "SKILL_PRIOR_STRENGTH": ".stopping",
    "SpanResult": ".spans",
    "StopDecision": ".stopping",
    "Wawa": ".wawa",
    "ZeroBasedSkill": ".zero_based_skill",
    "aggregate": ".robust",
    "aggregate_boxes": ".boxes",
    "aggregate_multilabel": ".multilabel",
    "aggregate_pairwise": ".pairwise",
    "aggregate_rankings": ".ranking",
    "aggregate_ratings": ".ratings",
    "aggregate_spans": ".spans",
    "bradley_terry": ".pairwise",
    "bt_probability": ".pairwise",
    "cohens_kappa": ".agreement",
    "fixed_overlap_target": ".stopping",
    "fleiss_kappa": ".agreement",
    "iou_matrix": ".boxes",
    "kemeny_consensus": ".kemeny",
    "kemeny_rankings": ".kemeny",
    "krippendorff_alpha": ".krippendorff",
    "percent_agreement": ".agreement",
    "posterior_one_coin": ".stopping",
    "should_stop": ".stopping",
    "shrunk_skill": ".stopping",
    "wilson_interval": ".accuracy",
    "worker_accuracy": ".accuracy",
}

__all__ = [
    "AggregationResult",
    "BaseClassificationAggregator",
    "BoxResult",
    "CrowdBT",
    "DEFAULT_SKILL",
    "DawidSkene",
    "GLAD",
    "GoldDawidSkene",
    "HierarchicalDawidSkene",
    "KemenyConsensus",
    "KemenyResult",
    "MACE",
    "MATCH_SAMPLES",
    "MajorityVote",
    "MultiLabelResult",
    "OneCoinDawidSkene",
    "PairwiseResult",
    "RankingResult",
    "RatingResult",
    "SKILL_PRIOR_STRENGTH",
    "SpanResult",
    "StopDecision",
    "Wawa",
    "ZeroBasedSkill",
    "aggregate",
    "aggregate_boxes",
    "aggregate_multilabel",
    "aggregate_pairwise",
    "aggregate_rankings",
    "aggregate_ratings",
    "aggregate_spans",
    "bradley_terry",
    "bt_probability",
    "cohens_kappa",
    "fixed_overlap_target",
    "fleiss_kappa",
    "iou_matrix",
    "kemeny_consensus",
    "kemeny_rankings",
    "krippendorff_alpha",
    "percent_agreement",
    "posterior_one_coin",
    "should_stop",
    "shrunk_skill",
    "wilson_interval",
    "worker_accuracy",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
