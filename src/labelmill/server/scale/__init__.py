"""Scale-compatible REST API under ``/v1``: a translation layer over labelmill's services, so
the official ``scaleapi`` SDK runs against labelmill unchanged (reference/scale_api.md)."""

from __future__ import annotations

from fastapi import FastAPI

from labelmill.server.db.engine import Database
from labelmill.server.scale import (
    routes_batches,
    routes_files,
    routes_projects,
    routes_tasks,
    routes_teams,
)
from labelmill.server.scale.transport import RawPathMiddleware, install_error_handlers


def create_scale_app(db: Database) -> FastAPI:
    """A sub-application, mounted at ``/v1``: its own error handlers give Scale's error
    bodies (and its own 404 for unknown paths) without touching the native API's."""
    app = FastAPI(title="labelmill Scale-compatible API", openapi_url=None, docs_url=None)
    app.state.db = db
    install_error_handlers(app)
    app.include_router(routes_projects.router)
    app.include_router(routes_batches.router)
    app.include_router(routes_tasks.router)
    app.include_router(routes_files.router)
    app.include_router(routes_teams.router)
    app.add_middleware(RawPathMiddleware)
    return app
