"""The README's "Moving from Scale" example (examples/moving_from_scale.py) runs as written
against a real server: with a test key its tasks complete at once, and running it again
creates nothing twice."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from scaleapi import ScaleClient

from tests.factory import Factory

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "moving_from_scale.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("moving_from_scale", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_runs_with_a_test_key_and_is_idempotent(
    factory: Factory, base_url: str, scale: Callable[[str], ScaleClient]
) -> None:
    org = factory.org()
    key = factory.key(org, "owner", test=True)
    example = _example()
    lines = example.run(base_url, key)
    assert len(lines) == 3
    assert all("'category'" in line for line in lines)
    assert len(example.run(base_url, key)) == 3  # a second run reuses everything
    client = scale(key)
    assert client.get_tasks_count(project_name="animals") == 3
    assert client.batch_status("week-1")["completed"] == 3


def test_with_a_live_key_the_tasks_wait_for_the_workforce(
    factory: Factory, base_url: str, scale: Callable[[str], ScaleClient]
) -> None:
    org = factory.org()
    assert _example().run(base_url, org.key) == []
    assert scale(org.key).batch_status("week-1")["pending"] == 3
