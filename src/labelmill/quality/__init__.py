"""Truth inference for crowd labels: aggregators, agreement metrics, worker skill, stopping rules.

Pure numpy/scipy/pandas; imports nothing else from labelmill. The categorical aggregators follow
crowd-kit's interface, so ``from crowdkit.aggregation import DawidSkene`` becomes
``from labelmill.quality import DawidSkene``.
"""

from .base import BaseClassificationAggregator
from .dawid_skene import DawidSkene
from .glad import GLAD
from .gold_dawid_skene import GoldDawidSkene
from .mace import MACE
from .majority_vote import MajorityVote
from .one_coin_dawid_skene import OneCoinDawidSkene
from .wawa import Wawa
from .zero_based_skill import ZeroBasedSkill

__all__ = [
    "BaseClassificationAggregator",
    "DawidSkene",
    "GLAD",
    "GoldDawidSkene",
    "MACE",
    "MajorityVote",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
]
