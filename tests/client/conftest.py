"""A real labelmill server on loopback for the SDK's integration tests.

Builds on the project's fixtures (``tests/conftest.py``): ``app`` is the real application on a
fresh SQLite or PostgreSQL database (each test runs on both), ``factory`` builds data through
the services. Here that app is served by uvicorn on 127.0.0.1, on a port the OS picks, so the
SDK talks real HTTP (streaming, 204s, error bodies) to the real server.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from labelmill.client import Client


class _Server(uvicorn.Server):
    """uvicorn that signals when it is ready, so the fixture waits on an event, not a sleep."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served on loopback for the duration of one test."""
    config = uvicorn.Config(app, log_config=None, ws="none", lifespan="on", access_log=False)
    server = _Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        # Startup failures end the thread without setting the event: wait on both.
        while not server.ready.wait(timeout=0.05):
            if not thread.is_alive():
                raise RuntimeError("the labelmill server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def make_client(base_url: str) -> Iterator[Callable[[str], Client]]:
    """``make_client(api_key)``: SDK clients on the live server, closed after the test."""
    clients: list[Client] = []

    def make(api_key: str) -> Client:
        client = Client(base_url, api_key)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
