"""What every CLI command shares: settings from ``--data-dir`` / the environment, the
database, and turning domain errors into clean messages with an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from labelmill.server.db import migrate
from labelmill.server.db.engine import Database, make_database
from labelmill.server.errors import LabelmillError
from labelmill.server.settings import Settings


class CliError(click.ClickException):
    """A domain error rendered for the terminal (exit code 1)."""

    def __init__(self, error: LabelmillError) -> None:
        detail = "".join(
            f"\n  {'.'.join(map(str, d.loc))}: {d.message}" for d in error.details[:20]
        )
        super().__init__(f"{error.message}{detail}")


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, with ``--data-dir`` taking precedence."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


@contextmanager
def open_database(data_dir: Path | None, *, upgrade: bool = True) -> Iterator[Database]:
    db = make_database(settings_for(data_dir))
    try:
        if upgrade:
            migrate.upgrade(db.engine)
        yield db
    except LabelmillError as exc:
        raise CliError(exc) from exc
    finally:
        db.dispose()


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="LABELMILL_DATA_DIR",
    help="Data directory (SQLite database). Default ./labelmill-data; "
    "LABELMILL_DATABASE_URL selects PostgreSQL instead.",
)
