"""Fast insertion of many task rows, returning their ids in order.

The ORM's ``INSERT ... RETURNING`` with ordered results falls back to one statement per row
here, which made a 10,000-task import spend most of its time in SQLAlchemy. Instead, ids
are allocated first — from the sequence on PostgreSQL, as ``max(id) + 1 …`` on SQLite, where
the transaction already holds the database's write lock (``BEGIN IMMEDIATE``) so no other
writer can take them — and rows go in with the driver's ``executemany`` (SQLite) or ``COPY``
(PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, text

from labelmill.server.models import Task

_task = cast(Table, Task.__table__)
_JSON_COLUMNS = frozenset({"params", "metadata", "tags", "gold_answer", "response"})


def _encoder(conn: Connection, name: str) -> Callable[[Any], Any]:
    """Turn a Python value of column ``name`` into what the driver takes, exactly as
    SQLAlchemy would (e.g. SQLite's own timestamp text format)."""
    if name in _JSON_COLUMNS:
        return lambda v: None if v is None else orjson.dumps(v).decode()
    column_type = _task.c[name].type.dialect_impl(conn.dialect)
    processor = column_type.bind_processor(conn.dialect)
    return processor if processor is not None else (lambda v: v)


def _allocate_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('task', 'id')")).scalar_one()
        rows = conn.execute(
            text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": count}
        )
        return [int(i) for i in rows.scalars()]
    start = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM task")).scalar_one()) + 1
    return list(range(start, start + count))


def insert_tasks(
    conn: Connection,
    shared: dict[str, Any],
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    count: int,
) -> list[int]:
    """Insert the ``count`` tasks of ``rows`` and return their ids in the same order.

    ``rows`` hold driver-ready values of ``columns`` (JSON columns as JSON text); every task
    also gets the ``shared`` column values, which are encoded here once. ``rows`` is consumed
    while the database takes them (PostgreSQL): an exception it raises aborts the insert.
    """
    shared_values = tuple(_encoder(conn, name)(value) for name, value in shared.items())
    ids = _allocate_ids(conn, count)
    names = ", ".join(["id", *shared, *columns])
    driver = conn.connection.driver_connection
    assert driver is not None
    written = 0
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY task ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((ids[written], *shared_values, *row))
                written += 1
    else:
        values = [(ids[i], *shared_values, *row) for i, row in enumerate(rows)]
        written = len(values)
        marks = ", ".join("?" * (1 + len(shared) + len(columns)))
        driver.executemany(f"INSERT INTO task ({names}) VALUES ({marks})", values)
    if written != count:
        raise ValueError(f"{count} task rows were announced but {written} were given")
    return ids
