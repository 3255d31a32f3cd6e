"""Truth inference for crowd labels: aggregators, agreement metrics, worker skill, stopping rules.

Pure numpy/scipy/pandas; imports nothing else from labelmill. The categorical aggregators follow
crowd-kit's interface, so ``from crowdkit.aggregation import DawidSkene`` becomes
``from labelmill.quality import DawidSkene``.
"""

from .aggregate import AggregationResult, aggregate
from .agreement import cohens_kappa, fleiss_kappa, percent_agreement
from .base import BaseClassificationAggregator
from .boxes import BoxResult, aggregate_boxes, iou_matrix
from .dawid_skene import DawidSkene
from .glad import GLAD
from .gold_dawid_skene import GoldDawidSkene
from .krippendorff import krippendorff_alpha
from .mace import MACE
from .majority_vote import MajorityVote
from .multilabel import MultiLabelResult, aggregate_multilabel
from .one_coin_dawid_skene import OneCoinDawidSkene
from .pairwise import PairwiseResult, aggregate_pairwise, bradley_terry
from .ranking import RankingResult, aggregate_rankings
from .ratings import RatingResult, aggregate_ratings
from .spans import SpanResult, aggregate_spans
from .stopping import StopDecision, posterior_one_coin, should_stop
from .wawa import Wawa
from .worker_accuracy import wilson_interval, worker_accuracy
from .zero_based_skill import ZeroBasedSkill

__all__ = [
    "GLAD",
    "MACE",
    "AggregationResult",
    "BaseClassificationAggregator",
    "BoxResult",
    "DawidSkene",
    "GoldDawidSkene",
    "MajorityVote",
    "MultiLabelResult",
    "OneCoinDawidSkene",
    "PairwiseResult",
    "RankingResult",
    "RatingResult",
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
    "cohens_kappa",
    "fleiss_kappa",
    "iou_matrix",
    "krippendorff_alpha",
    "percent_agreement",
    "posterior_one_coin",
    "should_stop",
    "wilson_interval",
    "worker_accuracy",
]
