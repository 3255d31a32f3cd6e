"""Every task type has a synthetic data set whose truths and noisy answers are valid for it,
and ``labelmill demo --type TYPE`` runs the whole loop for it."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelmill.cli import cli
from labelmill.simulate.kinds import synthetic_kind, synthetic_kind_names
from labelmill.tasktypes import get_task_type, task_type_names


def test_every_registered_type_has_a_synthetic_kind() -> None:
    assert synthetic_kind_names() == task_type_names()


@pytest.mark.parametrize("name", synthetic_kind_names())
def test_truths_and_noisy_answers_are_valid_responses(name: str) -> None:
    kind = synthetic_kind(name)
    task_type = get_task_type(name)
    assert kind is not None and task_type is not None
    project = task_type.validate_project_params(kind.project_params())
    rng = random.Random(7)
    agreed = total = 0
    for index in range(60):
        raw_params, truth = kind.task(index, rng)
        params = task_type.validate_task_params(raw_params, project)
        truth = task_type.validate_response(truth, project, params)
        view = task_type.worker_view(project, params)
        for accuracy in (1.0, 0.6):
            answer = task_type.validate_response(
                kind.answer(view, truth, accuracy, rng), project, params
            )
            if accuracy == 1.0:
                assert task_type.agrees(answer, truth), (name, answer, truth)
            else:
                total += 1
                agreed += task_type.agrees(answer, truth)
        guess = kind.answer(view, None, 0.9, rng)
        task_type.validate_response(guess, project, params)
    # At accuracy 0.6 the mistakes are real (some answers disagree) but most agree.
    assert 0.4 <= agreed / total <= 0.85, (name, agreed, total)


@pytest.mark.parametrize("name", [n for n in synthetic_kind_names() if n != "categorization"])
def test_demo_runs_for_every_type(name: str, tmp_path: Path) -> None:
    env: dict[str, str | None] = {"LABELMILL_DATABASE_URL": None, "LABELMILL_DATA_DIR": None}
    result = CliRunner().invoke(
        cli,
        ["demo", "--data-dir", str(tmp_path), "--tasks", "40", "--workers", "4", "--type", name],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    done = re.search(r"tasks completed: (\d+)/(\d+) \(plus (\d+) gold tasks\)", result.stdout)
    assert done is not None, result.stdout
    completed, regular, gold = map(int, done.groups())
    assert (regular, gold) == (38, 2)
    assert completed == regular
    accuracy = re.search(r"accuracy against hidden truth: ([\d.]+)", result.stdout)
    assert accuracy is not None and float(accuracy.group(1)) >= 0.6, result.stdout
