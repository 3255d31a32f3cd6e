"""The ``labelmill`` command.

Subcommands are imported when they run, not when ``labelmill`` starts: the admin and server
commands pull in SQLAlchemy and Alembic (~0.5 s), which ``labelmill import`` / ``export`` /
``simulate`` (pure HTTP clients) should not pay for.
"""

from __future__ import annotations

import importlib

import click

import labelmill

# name → (module, attribute) of each subcommand.
_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("labelmill.cli.server_commands", "serve"),
    "worker": ("labelmill.cli.server_commands", "worker"),
    "db": ("labelmill.cli.server_commands", "db"),
    "demo": ("labelmill.cli.demo_command", "demo"),
    "org": ("labelmill.cli.admin_commands", "org"),
    "user": ("labelmill.cli.admin_commands", "user"),
    "key": ("labelmill.cli.admin_commands", "key"),
    "pool": ("labelmill.cli.admin_commands", "pool"),
    "staff": ("labelmill.cli.admin_commands", "staff"),
    "import": ("labelmill.cli.transfer_commands", "import_tasks"),
    "export": ("labelmill.cli.transfer_commands", "export_results"),
    "datasets": ("labelmill.cli.dataset_commands", "datasets"),
    "simulate": ("labelmill.cli.simulate_commands", "simulate"),
    "aggregate": ("labelmill.cli.aggregate_command", "aggregate"),
    "report": ("labelmill.cli.report_command", "report"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(labelmill.__version__, prog_name="labelmill")
def cli() -> None:
    """labelmill: a self-hosted data engine for AI training data."""


def main() -> None:
    cli()
