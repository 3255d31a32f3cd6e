"""A real labelmill server on loopback for the SDK's integration tests.

Builds on the project's fixtures (``tests/conftest.py``): ``app`` is the real application on a
fresh SQLite or PostgreSQL database (each test runs on both), ``factory`` builds data through
the services. Here that app is served by uvicorn on 127.0.0.1, on a port the OS picks, so the
SDK talks real HTTP (streaming, 204s, error bodies) to the real server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

from labelmill.client import Client
from tests.live_server import serve_in_thread


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served on loopback for the duration of one test."""
    with serve_in_thread(app) as url:
        yield url


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
