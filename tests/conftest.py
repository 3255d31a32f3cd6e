"""Shared fixtures: every database-backed test runs on SQLite and on PostgreSQL.

* SQLite: a schema migrated once per session into a template file, copied per test.
* PostgreSQL (``LABELMILL_TEST_PG_URL``, default the local server's ``test`` database): one
  schema per test session (so concurrent test runs never meet), tables truncated per test.
  When the server is not answering, PostgreSQL tests fail under ``CI=true`` and are skipped
  elsewhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from labelmill.server.app import create_app
from labelmill.server.db import migrate
from labelmill.server.db.base import Base
from labelmill.server.db.engine import Database, make_database
from labelmill.server.services import projects
from labelmill.server.settings import Settings
from tests.factory import Factory

PG_URL = os.environ.get(
    "LABELMILL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any connection failure means "not available"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("template")
    db = make_database(Settings(data_dir=directory))
    migrate.upgrade(db.engine)
    db.dispose()
    return directory / "labelmill.db"


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not answering: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")
    schema = f"lm_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@dataclass
class Backend:
    name: str
    settings: Settings

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, data_dir / "labelmill.db")
        settings = Settings(data_dir=data_dir, run_worker=False)
    else:
        url: str = request.getfixturevalue("pg_schema_url")
        engine = create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        settings = Settings(data_dir=data_dir, database_url=url, run_worker=False)
    # A fresh database numbers its projects from 1 again: the process's cache of their
    # params (keyed by project id and version) belongs to the previous test's database.
    projects.forget_cached_versions()
    return Backend(name=request.param, settings=settings)


@pytest.fixture
def db(backend: Backend) -> Iterator[Database]:
    database = make_database(backend.settings)
    yield database
    database.dispose()


@pytest.fixture
def app(backend: Backend, db: Database) -> FastAPI:
    return create_app(backend.settings, database=db, migrate_on_start=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)
