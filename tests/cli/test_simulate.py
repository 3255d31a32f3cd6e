"""``labelmill simulate`` and ``labelmill.simulate`` against a real server on loopback."""

from __future__ import annotations

import random

import pytest

from labelmill.client import Client
from labelmill.schemas import LeasedTask
from labelmill.simulate import (
    SimulatedAnnotator,
    SimulationConfig,
    parse_accuracies,
    recruit_workers,
    run_simulation,
    spread_accuracies,
)
from tests.cli.conftest import Invoke
from tests.factory import CATEGORIES, Factory


def test_spread_and_parse_accuracies() -> None:
    assert spread_accuracies([0.8], 3) == [0.8, 0.8, 0.8]
    assert spread_accuracies([0.95, 0.6], 3) == [0.6, 0.775, 0.95]
    assert spread_accuracies([0.5, 0.7, 0.9], 3) == [0.5, 0.7, 0.9]
    assert parse_accuracies("0.6, 0.95") == [0.6, 0.95]
    for bad in ("1.5", "x", ""):
        with pytest.raises(ValueError):
            parse_accuracies(bad)


def test_annotator_accuracy_is_what_it_is_given() -> None:
    task = LeasedTask.model_validate(
        {
            "assignment_id": 1,
            "task_id": 1,
            "project_id": 1,
            "task_type": "categorization",
            "data": {"categories": CATEGORIES, "choices": CATEGORIES},
            "expires_at": "2030-01-01T00:00:00Z",
        }
    )
    annotator = SimulatedAnnotator(0.7, seed=1)
    answers = [annotator.answer(task, "dog")["category"] for _ in range(4000)]
    assert 0.66 < answers.count("dog") / 4000 < 0.74
    assert {"cat", "bird"} <= set(answers)
    assert SimulatedAnnotator(1.0).answer(task, "bird") == {"category": "bird"}


def _truth_overrides(n: int, seed: int = 7) -> tuple[list[str], list[dict[str, object]]]:
    rng = random.Random(seed)
    truth = [rng.choice(CATEGORIES) for _ in range(n)]
    return truth, [{"metadata": {"_truth": t}} for t in truth]


def test_simulate_command_completes_every_task_with_the_truth(
    invoke: Invoke, factory: Factory, server_url: str
) -> None:
    org = factory.org()
    truth, overrides = _truth_overrides(12)
    project = factory.project(org, n_tasks=12, min_labels=2, task_overrides=overrides)
    result = invoke(
        "simulate", "--url", server_url, "--key", org.key, "--project", str(project.id),
        "--workers", "3", "--accuracy", "1.0", "--max-seconds", "60",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tasks completed: 12, still pending: 0" in result.output
    assert "submitted 24 annotation(s)" in result.output
    assert "stopped: done" in result.output
    assert "label accuracy against the truth: 1.000" in result.output
    with Client(server_url, org.key) as client:
        tasks = {t.id: t for t in client.tasks.iter(project.id)}
    for task_id, expected in zip(project.task_ids, truth, strict=True):
        assert tasks[task_id].status == "completed"
        assert tasks[task_id].response == {"category": expected}


def test_mixed_quality_workforce_and_bounds(factory: Factory, server_url: str) -> None:
    org = factory.org()
    truth, overrides = _truth_overrides(40)
    project = factory.project(org, n_tasks=40, min_labels=3, max_labels=5, task_overrides=overrides)
    task_truth = dict(zip(project.task_ids, truth, strict=True))
    with Client(server_url, org.key) as client:
        keys = recruit_workers(client, project.id, 5)
        capped = run_simulation(
            SimulationConfig(
                base_url=server_url,
                project_id=project.id,
                worker_keys=keys[:2],
                accuracies=[0.9, 0.9],
                truth=task_truth,
                max_annotations=7,
            )
        )
        assert (capped.submitted, capped.stop_reason) == (7, "count")

        result = run_simulation(
            SimulationConfig(
                base_url=server_url,
                project_id=project.id,
                worker_keys=keys,
                accuracies=spread_accuracies([0.6, 0.95], 5),
                truth=task_truth,
                max_seconds=60,
                seed=3,
            )
        )
        tasks = list(client.tasks.iter(project.id))
    assert result.stop_reason == "done"
    assert all(t.status == "completed" for t in tasks)
    labels = sum(t.n_annotations for t in tasks)
    assert labels == result.submitted + capped.submitted
    assert 3 * 40 <= labels <= 5 * 40
    assert result.observed_accuracy is not None and 0.6 <= result.observed_accuracy <= 0.95
    majority_right = sum(t.response == {"category": task_truth[t.id]} for t in tasks)
    assert majority_right / 40 >= 0.7  # plausible for 3-5 labels of this quality
