"""``labelmill demo`` end to end with small numbers, on the embedded default (SQLite)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from labelmill.cli import cli


def test_demo_runs_the_whole_loop_and_leaves_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    env: dict[str, str | None] = {"LABELMILL_DATABASE_URL": None, "LABELMILL_DATA_DIR": None}
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["demo", "--data-dir", str(data_dir), "--tasks", "60", "--workers", "4"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = result.stdout

    done = re.search(r"tasks completed: (\d+)/(\d+) \(plus (\d+) gold tasks\)", report)
    assert done is not None, report
    completed, regular, gold = map(int, done.groups())
    assert (regular, gold) == (57, 3)
    assert completed == regular
    labels = re.search(r"labels used: (\d+) \(([\d.]+) per task", report)
    assert labels is not None
    assert 3 * regular <= int(labels.group(1)) <= 5 * regular
    accuracy = re.search(
        r"accuracy against hidden truth: ([\d.]+) \(single labels: ([\d.]+)\)", report
    )
    assert accuracy is not None
    assert float(accuracy.group(1)) >= 0.75
    assert 0.55 <= float(accuracy.group(2)) <= 0.95
    assert re.search(r"throughput: [\d.]+ labels/s", report)

    export = data_dir / "demo-export.jsonl"
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(rows) == completed and all(r["status"] == "completed" for r in rows)

    key = re.search(r"organization key \(demo\): (lm_live_\S+)", report)
    assert key is not None
    assert f"labelmill serve --data-dir {data_dir}" in report

    # The data stays: the admin commands see the demo's organization and key afterwards.
    listed = runner.invoke(cli, ["key", "list", "--data-dir", str(data_dir)], env=env)
    assert listed.exit_code == 0 and key.group(1)[:12] in listed.output
    orgs = runner.invoke(cli, ["org", "list", "--data-dir", str(data_dir)], env=env)
    assert "\tdemo\t" in orgs.output
