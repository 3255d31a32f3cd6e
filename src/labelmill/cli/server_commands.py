"""``labelmill serve``, ``labelmill worker`` and ``labelmill db ...``."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click
import uvicorn

from labelmill.cli.context import data_dir_option, open_database, settings_for
from labelmill.server.db import migrate
from labelmill.server.jobs.runner import BackgroundWorker


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (PostgreSQL: share one database; SQLite: keep 1).",
)
@click.option("--no-worker", is_flag=True, help="Do not run the background worker in-process.")
@data_dir_option
def serve(host: str, port: int, processes: int, no_worker: bool, data_dir: Path | None) -> None:
    """Run the labelmill server (API, docs at /docs) with a background worker."""
    if data_dir is not None:
        os.environ["LABELMILL_DATA_DIR"] = str(data_dir)
    if no_worker:
        os.environ["LABELMILL_RUN_WORKER"] = "false"
    with open_database(data_dir):
        pass  # migrate once, before any process starts
    settings = settings_for(data_dir)
    where = settings.resolved_database_url.split("@")[-1]
    click.echo(f"labelmill serving on http://{host}:{port} (docs: /docs), database {where}")
    uvicorn.run(
        "labelmill.server.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level="warning",
        access_log=False,
    )


@click.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run a background worker (expired leases, outbox jobs) until interrupted."""
    with open_database(data_dir) as db:
        runner = BackgroundWorker(db)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        runner.start()
        click.echo("labelmill worker running; Ctrl-C to stop")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
@data_dir_option
def upgrade(data_dir: Path | None) -> None:
    """Bring the schema to the newest version (safe to repeat)."""
    with open_database(data_dir, upgrade=False) as database:
        migrate.upgrade(database.engine)
        click.echo(f"schema at revision {migrate.current_revision(database.engine)}")


@db.command()
@data_dir_option
def current(data_dir: Path | None) -> None:
    """Show the schema revision."""
    with open_database(data_dir, upgrade=False) as database:
        click.echo(
            f"current: {migrate.current_revision(database.engine)} "
            f"(head: {migrate.head_revision()})"
        )
