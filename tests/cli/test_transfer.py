"""``labelmill import`` and ``labelmill export`` against a real server on loopback."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from labelmill.client import Client
from tests.cli.conftest import Invoke
from tests.factory import Factory


def _remote(url: str, key: str, project_id: int) -> list[str]:
    return ["--url", url, "--key", key, "--project", str(project_id)]


def test_import_jsonl_in_chunks_is_idempotent(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "tasks.jsonl"
    rows = [
        {"params": {"attachment": f"text {i}"}, "unique_id": f"u{i}", "tags": ["t"], "priority": i}
        for i in range(25)
    ]
    source.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    args = ["import", str(source), *_remote(server_url, org.key, project.id)]

    first = invoke(*args, "--chunk-size", "10", "--batch", str(project.batch_id))
    assert first.exit_code == 0, first.output
    assert "imported 25 task(s)" in first.output
    again = invoke(*args)
    assert again.exit_code == 0 and "25 already existed" in again.output

    with Client(server_url, org.key) as client:
        tasks = list(client.tasks.iter(project.id))
    assert sorted(t.unique_id or "" for t in tasks) == sorted(f"u{i}" for i in range(25))
    assert {t.batch_id for t in tasks} == {project.batch_id}
    assert max(t.priority for t in tasks) == 24


def test_import_rejects_a_bad_row_before_sending_any(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "tasks.jsonl"
    good = json.dumps({"params": {"attachment": "fine"}})
    lines = [good] * 3 + [
        json.dumps({"params": {"attachment": "x"}, "colour": "red"}),
        json.dumps({"params": {"attachment": "x"}, "gold_answer": {"category": "fish"}}),
        good,
    ]
    source.write_text("\n".join(lines))
    result = invoke("import", str(source), *_remote(server_url, org.key, project.id))
    assert result.exit_code == 1
    assert "2 of 6 row(s) are invalid; nothing was imported" in result.output
    assert "line 4: colour" in result.output
    assert "line 5: gold_answer.category" in result.output
    assert "Traceback" not in result.output

    source.write_text(good + "\n{not json\n")
    broken = invoke("import", str(source), *_remote(server_url, org.key, project.id))
    assert broken.exit_code == 1 and "line 2: not valid JSON" in broken.output
    with Client(server_url, org.key) as client:
        assert client.tasks.list(project.id).data == []


def test_a_chunk_the_server_rejects_stops_the_import_and_counts_what_went_in(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    """NUL characters pass the client's check (valid JSON, valid task) but no database
    stores them: the server rejects that chunk. With two requests in flight, the chunk read
    after it was already sent, and the message counts it."""
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "tasks.jsonl"
    rows = [{"params": {"attachment": f"text {i}"}, "unique_id": f"u{i}"} for i in range(9)]
    rows[3]["params"]["attachment"] = "bad \x00 byte"
    source.write_text("\n".join(json.dumps(row) for row in rows))
    args = ["import", str(source), *_remote(server_url, org.key, project.id), "--chunk-size", "2"]
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert "line 4" in result.output and "NUL" in result.output
    assert "4 task(s) were created (2 from the lines before this request, 2 from the request" in (
        " ".join(result.output.split())
    )
    with Client(server_url, org.key) as client:
        created = sorted(t.unique_id or "" for t in client.tasks.iter(project.id))
    assert created == ["u0", "u1", "u4", "u5"]


def test_import_csv_maps_columns(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org)
    source = tmp_path / "tasks.csv"
    source.write_text(
        'id,text,label,metadata.source,tags\na1,"a cat,\nsitting",cat,web,x|y\na2,a dog,,shop,\n'
    )
    result = invoke(
        "import", str(source), *_remote(server_url, org.key, project.id),
        "--column", "id=unique_id", "--column", "text=attachment",
        "--column", "label=gold.category",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Client(server_url, org.key) as client:
        by_uid = {t.unique_id: t for t in client.tasks.iter(project.id)}
    assert by_uid["a1"].params["attachment"] == "a cat,\nsitting"
    assert (by_uid["a1"].is_gold, by_uid["a1"].gold_answer) == (True, {"category": "cat"})
    assert (by_uid["a1"].tags, by_uid["a1"].metadata) == (["x", "y"], {"source": "web"})
    assert (by_uid["a2"].is_gold, by_uid["a2"].tags) == (False, [])


def test_export_jsonl_and_csv(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org = factory.org()
    project = factory.project(org, n_tasks=5)
    worker = factory.worker(org)
    with Client(server_url, worker.key) as client:
        for category in ["cat", "dog", "cat"]:
            leased = client.next_task(project.id)
            assert leased is not None
            client.submit(leased.assignment_id, {"category": category})

    out = tmp_path / "out.jsonl"
    done = invoke("export", *_remote(server_url, org.key, project.id), "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "exported 3 row(s)" in done.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["response"]["category"] for r in rows) == ["cat", "cat", "dog"]
    assert all(r["status"] == "completed" and r["n_labels"] == 1 for r in rows)

    out_csv = tmp_path / "all.csv"
    every = invoke(
        "export", *_remote(server_url, org.key, project.id),
        "--format", "csv", "--status", "all", "-o", str(out_csv),
    )  # fmt: skip
    assert every.exit_code == 0 and "exported 5 row(s)" in every.output
    with out_csv.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == 5
    assert sorted(r["category"] for r in records) == ["", "", "cat", "cat", "dog"]
    assert not list(tmp_path.glob(".*.partial"))


def test_export_errors_leave_no_file(
    invoke: Invoke, factory: Factory, server_url: str, tmp_path: Path
) -> None:
    org, other = factory.org(), factory.org()
    foreign = factory.project(other, n_tasks=1)
    out = tmp_path / "out.jsonl"
    result = invoke("export", *_remote(server_url, org.key, foreign.id), "-o", str(out))
    assert result.exit_code == 1 and "HTTP 404" in result.output
    assert not out.exists() and not list(tmp_path.glob(".*"))
    wrong_key = invoke("export", *_remote(server_url, "lm_live_bad", foreign.id), "-o", str(out))
    assert wrong_key.exit_code == 1 and "HTTP 401" in wrong_key.output
