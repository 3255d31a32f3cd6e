"""``labelmill import`` of Parquet files and Label Studio exports into a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelmill.client import Client
from labelmill.schemas import TaskRead
from labelmill.tasktypes import get_task_type
from tests.cli.conftest import Invoke
from tests.factory import Factory
from tests.formats.test_label_studio import FIXTURES, PROJECTS


def _remote(url: str, key: str, project_id: int) -> list[str]:
    return ["--url", url, "--key", key, "--project", str(project_id)]


def _tasks(url: str, key: str, project_id: int) -> list[TaskRead]:
    with Client(url, key) as client:
        return sorted(client.tasks.iter(project_id), key=lambda t: t.id)


def test_import_parquet_with_column_mapping(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "hf.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [f"u{i}" for i in range(30)],
                "text": [f"item {i}" for i in range(30)],
                "label": [["cat", "dog", "bird"][i % 3] if i < 3 else None for i in range(30)],
                "tags": [["a", "b"]] * 30,
                "source": ["hub"] * 30,
            }
        ),
        source,
        row_group_size=7,
    )
    args = [
        "import",
        str(source),
        *_remote(server_url, org.key, project.id),
        "--column",
        "id=unique_id",
        "--column",
        "text=attachment",
        "--column",
        "label=gold.category",
        "--column",
        "source=metadata.source",
        "--chunk-size",
        "8",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "imported 30 task(s)" in result.output

    # Two requests are in flight: ids need not follow the file's order, unique ids do.
    by_uid = {t.unique_id: t for t in _tasks(server_url, org.key, project.id)}
    tasks = [by_uid[f"u{i}"] for i in range(30)]
    assert len(by_uid) == 30
    assert tasks[4].params["attachment"] == "item 4"
    assert tasks[4].metadata == {"source": "hub"} and tasks[4].tags == ["a", "b"]
    assert [t.gold_answer for t in tasks[:4]] == [
        {"category": "cat"},
        {"category": "dog"},
        {"category": "bird"},
        None,
    ]
    again = invoke(*args)
    assert again.exit_code == 0 and "30 already existed" in again.output


def test_a_bad_parquet_row_is_named_and_nothing_is_imported(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "bad.parquet"
    pq.write_table(
        pa.table(
            {
                "attachment": ["a", "b", "c", "d"],
                "gold.category": [None, None, "fish", None],
            }
        ),
        source,
    )
    result = invoke("import", str(source), *_remote(server_url, org.key, project.id))
    assert result.exit_code == 1
    assert "1 of 4 row(s) are invalid; nothing was imported" in result.output
    assert "row 3: gold_answer.category" in result.output
    assert _tasks(server_url, org.key, project.id) == []


def test_import_a_label_studio_export(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)  # categorization over cat / dog / bird
    result = invoke(
        "import",
        str(FIXTURES / "ls_categorization.json"),
        *_remote(server_url, org.key, project.id),
    )
    assert result.exit_code == 0, result.output
    assert "imported 3 task(s)" in result.output

    tasks = _tasks(server_url, org.key, project.id)
    assert [t.params["attachment"] for t in tasks] == [
        "A cat asleep on the mat",
        "https://example.com/images/dog.jpg",
        "Nobody labeled this one yet",
    ]
    assert [t.params.get("attachment_type") for t in tasks] == ["text", "image", "text"]
    assert [t.gold_answer for t in tasks] == [{"category": "cat"}, {"category": "dog"}, None]
    assert [t.is_gold for t in tasks] == [True, True, False]
    assert tasks[0].metadata == {"source": "web-crawl", "batch": "march", "label_studio_id": 101}

    skipped = factory.project(org)
    plain = invoke(
        "import",
        str(FIXTURES / "ls_categorization.json"),
        *_remote(server_url, org.key, skipped.id),
        "--ls-annotations",
        "skip",
    )
    assert plain.exit_code == 0, plain.output
    assert [t.gold_answer for t in _tasks(server_url, org.key, skipped.id)] == [None] * 3


def test_a_bad_label_studio_task_is_named_and_nothing_is_imported(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    tasks: list[dict[str, Any]] = json.loads((FIXTURES / "ls_categorization.json").read_text())
    tasks[1]["annotations"][1]["result"][0]["value"]["choices"] = ["fish"]
    source = tmp_path / "export.json"
    source.write_text(json.dumps(tasks))
    result = invoke("import", str(source), *_remote(server_url, org.key, project.id))
    assert result.exit_code == 1
    assert "1 of 3 row(s) are invalid; nothing was imported" in result.output
    assert "task 2 (Label Studio id 102): gold_answer.category" in result.output

    del tasks[2]["data"]["text"]
    source.write_text(json.dumps(tasks))
    missing = invoke("import", str(source), *_remote(server_url, org.key, project.id))
    assert missing.exit_code == 1
    assert "task 3: (Label Studio id 103) data: no data.text" in missing.output
    assert "nothing was imported" in missing.output
    assert _tasks(server_url, org.key, project.id) == []


@pytest.mark.parametrize(
    "task_type", ["pairwise_comparison", "rating", "text_collection", "text_spans"]
)
def test_label_studio_fixtures_of_other_types_import_as_gold_tasks(
    invoke: Invoke, factory: Factory, server_url: str, task_type: str
) -> None:
    assert get_task_type(task_type) is not None  # the server runs in this process
    org = factory.org()
    with Client(server_url, org.key) as client:
        project = client.projects.create(f"ls-{task_type}", task_type, PROJECTS[task_type])
    fixture = FIXTURES / f"ls_{task_type}.json"
    expected = json.loads(fixture.read_text())
    result = invoke("import", str(fixture), *_remote(server_url, org.key, project.id))
    assert result.exit_code == 0, result.output
    assert f"imported {len(expected)} task(s)" in result.output
    tasks = _tasks(server_url, org.key, project.id)
    assert [t.metadata["label_studio_id"] for t in tasks] == [t["id"] for t in expected]
    assert all(t.is_gold for t in tasks)


@pytest.mark.parametrize("export_format", ["label-studio", "parquet"])
@pytest.mark.parametrize(
    "task_type", ["categorization", "pairwise_comparison", "rating", "text_collection"]
)
def test_export_then_import_through_the_cli(
    invoke: Invoke,
    factory: Factory,
    server_url: str,
    tmp_path: Path,
    task_type: str,
    export_format: str,
) -> None:
    """Tasks completed with a test key (their type's placeholder answer) go out as a Label
    Studio or Parquet file and come back into a second project as the same tasks, their
    answers now known (gold) answers."""
    assert get_task_type(task_type) is not None
    org = factory.org()
    test_key = factory.key(org, "owner", test=True)
    with Client(server_url, org.key) as client:
        source_project = client.projects.create("from", task_type, PROJECTS[task_type])
        target_project = client.projects.create("to", task_type, PROJECTS[task_type])
    fixture = FIXTURES / f"ls_{task_type}.json"
    loaded = invoke(
        "import",
        str(fixture),
        *_remote(server_url, test_key, source_project.id),
        "--ls-annotations",
        "skip",
    )
    assert loaded.exit_code == 0, loaded.output
    exported = tmp_path / ("out.json" if export_format == "label-studio" else "out.parquet")
    out = invoke(
        "export",
        *_remote(server_url, test_key, source_project.id),
        "--format",
        export_format,
        "-o",
        str(exported),
    )
    assert out.exit_code == 0, out.output
    back = ["--column", "response=gold_answer"] if export_format == "parquet" else []
    result = invoke(
        "import", str(exported), *_remote(server_url, org.key, target_project.id), *back
    )
    assert result.exit_code == 0, result.output

    originals = _tasks(server_url, test_key, source_project.id)
    copies = _tasks(server_url, org.key, target_project.id)
    assert len(copies) == len(originals) > 0
    assert all(t.status == "completed" and t.response for t in originals)
    assert [c.params for c in copies] == [o.params for o in originals]
    assert [c.gold_answer for c in copies] == [o.response for o in originals]
