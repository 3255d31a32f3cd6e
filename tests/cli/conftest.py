"""CLI tests: ``CliRunner`` pointed at the ``backend`` fixture's database through the
environment, and (for the over-HTTP commands) the real app served by uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from labelmill.cli import cli
from tests.conftest import Backend
from tests.live_server import serve_in_thread

Invoke = Callable[..., Result]


def backend_env(backend: Backend) -> dict[str, str | None]:
    """The variables a user would set; ``None`` unsets one inherited from the test run."""
    return {
        "LABELMILL_DATA_DIR": str(backend.settings.data_dir),
        "LABELMILL_DATABASE_URL": backend.settings.database_url,
        "LABELMILL_RUN_WORKER": "false",
    }


@pytest.fixture
def invoke(backend: Backend) -> Invoke:
    """``invoke("org", "create", "acme")``: run ``labelmill`` on the test's database."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=backend_env(backend), catch_exceptions=False)

    return run


@pytest.fixture
def server_url(app: FastAPI) -> Iterator[str]:
    """The test's app, served on a loopback port the OS picks."""
    with serve_in_thread(app) as url:
        yield url
