"""Engines and units of work.

Two kinds of transaction exist:

* read transactions (``read_session``): plain ``BEGIN``;
* write transactions (``write_session``): on SQLite ``BEGIN IMMEDIATE`` so the write lock is
  taken up front and a read-then-write decision (the work queue's) cannot race another
  writer; on PostgreSQL a normal ``READ COMMITTED`` transaction in which the services take
  row locks (``FOR UPDATE [SKIP LOCKED]``).

On SQLite, write transactions of one process also pass through a ``threading.Lock``. This is
not what makes them correct (``BEGIN IMMEDIATE`` is); it keeps threads of one process from
spinning in SQLite's sleep-and-retry busy handler, which costs whole milliseconds each time.
Other processes on the same file still wait on ``busy_timeout``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from labelmill.server.settings import Settings

_BEGIN_OPTION = "labelmill_sqlite_begin"


def _install_sqlite_hooks(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN; pysqlite's own implicit BEGIN is
        # deferred and would make the immediate/deferred choice impossible.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's full
        # execution path costs more than the BEGIN itself.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]


@dataclass
class Database:
    """The engine plus the two session factories; one per process (or per test)."""

    settings: Settings
    engine: Engine
    _read: sessionmaker[Session] = field(init=False)
    _write: sessionmaker[Session] = field(init=False)
    _write_gate: threading.Lock | None = field(init=False)

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._write = sessionmaker(writer, expire_on_commit=False, autoflush=False)
        self._write_gate = threading.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        gate = self._write_gate if self._write_gate is not None else nullcontext()
        with gate, self._write() as session, session.begin():
            yield session

    @contextmanager
    def driver_connection(self) -> Iterator[Any]:
        """A pooled connection's own driver connection (psycopg on PostgreSQL), for the hot
        path that calls the database's work-loop functions directly. The caller leaves it
        idle; a failed transaction is rolled back when it returns to the pool."""
        proxied = self.engine.raw_connection()
        try:
            yield proxied.driver_connection
        finally:
            proxied.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_database(settings: Settings) -> Database:
    url = settings.resolved_database_url
    json_options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.pool_size,
            max_overflow=20,
            **json_options,
        )
        _install_sqlite_hooks(engine, settings.sqlite_synchronous)
    else:
        engine = create_engine(
            url,
            pool_size=settings.pool_size,
            max_overflow=20,
            # No pre-ping: it costs a round trip on every checkout of the hot path; stale
            # connections are recycled instead.
            pool_recycle=1800,
            **json_options,
        )
    return Database(settings=settings, engine=engine)
