"""The ``labelmill`` command."""

from __future__ import annotations

import click

import labelmill
from labelmill.cli.admin_commands import key, org, pool, staff, user
from labelmill.cli.demo_command import demo
from labelmill.cli.server_commands import db, serve, worker
from labelmill.cli.simulate_commands import simulate
from labelmill.cli.transfer_commands import export_results, import_tasks


@click.group()
@click.version_option(labelmill.__version__, prog_name="labelmill")
def cli() -> None:
    """labelmill: a self-hosted data engine for AI training data."""


for command in (
    serve,
    worker,
    db,
    demo,
    org,
    user,
    key,
    pool,
    staff,
    import_tasks,
    export_results,
    simulate,
):
    cli.add_command(command)


def main() -> None:
    cli()
