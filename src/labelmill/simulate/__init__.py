"""A simulated workforce: annotators of known accuracy working a project over the API.

Used by ``labelmill simulate``, ``labelmill demo``, tests and benchmarks. The truth the
annotators answer from is given by the caller (it is never readable by a worker key)::

    keys = recruit_workers(client, project_id, n=8)
    result = run_simulation(
        SimulationConfig(base_url, project_id, keys, spread_accuracies([0.6, 0.95], 8),
                         truth={task_id: "positive", ...}, max_seconds=60)
    )
"""

from labelmill.simulate.annotator import SimulatedAnnotator, parse_accuracies, spread_accuracies
from labelmill.simulate.recruit import SIMULATED_POOL, recruit_workers, truth_from_tasks
from labelmill.simulate.runner import (
    Simulation,
    SimulationConfig,
    SimulationResult,
    StopReason,
    WorkerStats,
    run_simulation,
)

__all__ = [
    "SIMULATED_POOL",
    "SimulatedAnnotator",
    "Simulation",
    "SimulationConfig",
    "SimulationResult",
    "StopReason",
    "WorkerStats",
    "parse_accuracies",
    "recruit_workers",
    "run_simulation",
    "spread_accuracies",
    "truth_from_tasks",
]
