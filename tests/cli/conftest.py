"""CLI tests: ``CliRunner`` pointed at the ``backend`` fixture's database through the
environment, and (for the over-HTTP commands) the real app served by uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from click.testing import CliRunner, Result
from fastapi import FastAPI

from labelmill.cli import cli
from tests.conftest import Backend

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


class _Server(uvicorn.Server):
    """uvicorn that signals readiness on an event (no sleeping, no polling)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@pytest.fixture
def server_url(app: FastAPI) -> Iterator[str]:
    """The test's app, served on a loopback port the OS picks."""
    server = _Server(
        uvicorn.Config(app, log_config=None, ws="none", lifespan="on", access_log=False)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.ready.wait(timeout=0.05):
            if not thread.is_alive():
                raise RuntimeError("the labelmill server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
