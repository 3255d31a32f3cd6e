"""Entry point for ASGI servers running several worker processes (``uvicorn --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from labelmill.server.app import create_app


def create() -> FastAPI:
    """An app configured from the environment (``LABELMILL_*``), as each process needs."""
    return create_app()
