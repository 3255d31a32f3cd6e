"""Request bodies encoded during ``labelmill import``'s check pass."""

from __future__ import annotations

import json

import pytest

from labelmill.cli import encoded_chunks
from labelmill.cli.encoded_chunks import ChunkSpool
from labelmill.cli.task_files import Row
from labelmill.schemas import TaskBulkCreate


@pytest.mark.parametrize("in_memory", [64 * 1024 * 1024, 10])
def test_rows_become_bodies_of_at_most_chunk_size(
    monkeypatch: pytest.MonkeyPatch, in_memory: int
) -> None:
    monkeypatch.setattr(encoded_chunks, "_SPOOL_IN_MEMORY", in_memory)  # 10: spills to disk
    spool = ChunkSpool(chunk_size=3, batch_id=7)
    rows = [
        Row(line=2 * i + 1, end_offset=100 * (i + 1), task={"params": {"text": f"é {i}"}})
        for i in range(7)
    ]
    for row in rows:
        spool.add(row)
    spool.finish()
    bodies = list(spool.bodies())
    spool.close()
    assert [len(chunk.lines) for chunk, _ in bodies] == [3, 3, 1]
    assert [list(chunk.lines) for chunk, _ in bodies][1] == [7, 9, 11]
    assert [chunk.end_offset for chunk, _ in bodies] == [300, 600, 700]
    tasks = []
    for _chunk, body in bodies:
        parsed = TaskBulkCreate.model_validate_json(body)
        assert parsed.batch_id == 7
        tasks.extend(task.params["text"] for task in parsed.tasks)
    assert tasks == [f"é {i}" for i in range(7)]
    assert json.loads(bodies[0][1])["tasks"][0] == {"params": {"text": "é 0"}}


def test_no_rows_no_bodies() -> None:
    spool = ChunkSpool(chunk_size=3, batch_id=None)
    spool.finish()
    assert list(spool.bodies()) == []
    spool.close()
