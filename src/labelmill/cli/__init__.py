"""The ``labelmill`` command."""

from __future__ import annotations

import click

import labelmill
from labelmill.cli.server_commands import db, serve, worker


@click.group()
@click.version_option(labelmill.__version__, prog_name="labelmill")
def cli() -> None:
    """labelmill: a self-hosted data engine for AI training data."""


cli.add_command(serve)
cli.add_command(worker)
cli.add_command(db)


def main() -> None:
    cli()
