"""The ASGI application: ``create_app(settings)``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import labelmill
from labelmill.server.api import (
    error_handlers,
    routes_account,
    routes_aggregation,
    routes_datasets,
    routes_files,
    routes_ops,
    routes_projects,
    routes_quality,
    routes_review,
    routes_task_types,
    routes_tasks,
    routes_work,
)
from labelmill.server.api.body_limit import BodyLimitMiddleware
from labelmill.server.db import migrate
from labelmill.server.db.engine import Database, make_database
from labelmill.server.jobs.runner import BackgroundWorker
from labelmill.server.scale import create_scale_app
from labelmill.server.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    migrate_on_start: bool = True,
) -> FastAPI:
    """Build the app. ``database`` lets tests share one engine; by default one is made from
    ``settings`` and the schema is brought up to date on start."""
    settings = settings or get_settings()
    db = database or make_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate_on_start:
            migrate.upgrade(db.engine)
        worker = BackgroundWorker(db) if settings.run_worker else None
        if worker is not None:
            worker.start()
        # Everything alive now (modules, the app, SQLAlchemy's metadata: ~135k objects) lives
        # as long as the process; move it out of the collector's view. Otherwise every full
        # collection walks all of it, and a 10,000-task import, which allocates enough to
        # trigger several, spent 60% of its JSON parsing in the collector (measured).
        gc.freeze()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="labelmill",
        version=labelmill.__version__,
        description="Self-hosted data engine for AI training data. Native API under /api.",
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    error_handlers.install(app)
    for module in (routes_account, routes_projects, routes_tasks, routes_work, routes_ops):
        app.include_router(module.router)
    app.include_router(routes_aggregation.router)
    app.include_router(routes_review.router)
    app.include_router(routes_quality.router)
    app.include_router(routes_task_types.router)
    app.include_router(routes_datasets.router)
    app.include_router(routes_files.router)
    app.mount("/v1", create_scale_app(db))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
