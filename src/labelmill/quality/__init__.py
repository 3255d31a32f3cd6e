"""Truth inference for crowd labels: aggregators, agreement metrics, worker skill, stopping rules.

Pure numpy/scipy/pandas; imports nothing else from labelmill. The categorical aggregators follow
crowd-kit's interface, so ``from crowdkit.aggregation import DawidSkene`` becomes
``from labelmill.quality import DawidSkene``.
"""

from .aggregate import AggregationResult, aggregate
from .agreement import cohens_kappa, fleiss_kappa, percent_agreement
from .base import BaseClassificationAggregator
from .dawid_skene import DawidSkene
from .glad import GLAD
from .gold_dawid_skene import GoldDawidSkene
from .krippendorff import krippendorff_alpha
from .mace import MACE
from .majority_vote import MajorityVote
from .one_coin_dawid_skene import OneCoinDawidSkene
from .stopping import StopDecision, posterior_one_coin, should_stop
from .wawa import Wawa
from .worker_accuracy import wilson_interval, worker_accuracy
from .zero_based_skill import ZeroBasedSkill

__all__ = [
    "GLAD",
    "MACE",
    "AggregationResult",
    "BaseClassificationAggregator",
    "DawidSkene",
    "GoldDawidSkene",
    "MajorityVote",
    "OneCoinDawidSkene",
    "StopDecision",
    "Wawa",
    "ZeroBasedSkill",
    "aggregate",
    "cohens_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "percent_agreement",
    "posterior_one_coin",
    "should_stop",
    "wilson_interval",
    "worker_accuracy",
]
