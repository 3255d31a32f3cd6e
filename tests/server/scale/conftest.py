"""The real ``scaleapi`` SDK against a real labelmill server on loopback.

``app`` (tests/conftest.py) is the real application on a fresh SQLite or PostgreSQL database;
it is served by uvicorn on 127.0.0.1 so the SDK speaks real HTTP through ``requests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from scaleapi import ScaleClient

from tests.live_server import serve_in_thread


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def scale(base_url: str) -> Callable[[str], ScaleClient]:
    """``scale(api_key)``: an SDK client pointed at this server's ``/v1``."""

    def make(api_key: str) -> ScaleClient:
        return ScaleClient(api_key, api_instance_url=f"{base_url}/v1")

    return make
