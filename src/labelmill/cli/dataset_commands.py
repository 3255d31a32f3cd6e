"""``labelmill datasets``: list a project's dataset snapshots and download one again; the
helpers ``labelmill export`` shares (format options, a verified download with a bar)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import orjson

from labelmill.cli.progress import progress_bar
from labelmill.cli.remote import key_option, project_option, remote_client, url_option
from labelmill.client import Client, DatasetDownload, DatasetIntegrityError


def parse_format_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a format's options. A value that parses as JSON is taken as
    JSON (``true``, ``3``, ``["a","b"]``), any other as text (``pairs=all``)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="'--option'")
        try:
            options[key] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            options[key] = raw
    return options


def download_with_bar(
    client: Client, dataset_id: int, byte_size: int, output: Path
) -> DatasetDownload:
    """Download a snapshot into ``output`` ('-': stdout) with a byte progress bar, its
    SHA-256 verified; a damaged transfer is a clean error and leaves no file."""
    with progress_bar(unit="bytes") as progress:
        bar = progress.add_task("downloading", total=byte_size or None)

        def advance(done: int) -> None:
            progress.update(bar, completed=done)

        try:
            if str(output) == "-":
                result = client.datasets.write_to(dataset_id, sys.stdout.buffer, progress=advance)
                sys.stdout.buffer.flush()
            else:
                result = client.datasets.download(dataset_id, output, progress=advance)
        except DatasetIntegrityError as exc:
            raise click.ClickException(f"{exc}; download it again") from exc
        progress.update(bar, completed=result.byte_size)
    return result


output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write ('-' for stdout); it appears only when complete and verified.",
)


@click.group("datasets")
def datasets() -> None:
    """Dataset snapshots: every export, kept, listed and downloadable again byte-identical."""


@datasets.command("list")
@url_option
@key_option
@project_option
def list_datasets(url: str, api_key: str, project_id: int) -> None:
    """The project's snapshots, oldest first: id, time, format, filters, rows, size, hash."""
    with remote_client(url, api_key) as client:
        rows = list(client.datasets.iter(project_id, page_size=1000))
    if not rows:
        click.echo(f"project {project_id} has no dataset snapshots")
        return
    click.echo("id\tcreated_at\tformat\tstatus\tgold\tbatch\trows\tbytes\tsha256")
    for d in rows:
        filters = d.filters
        click.echo(
            f"{d.id}\t{d.created_at.isoformat(timespec='seconds')}\t{d.format}\t"
            f"{filters.status}\t{'yes' if filters.include_gold else 'no'}\t"
            f"{filters.batch_id if filters.batch_id is not None else '-'}\t"
            f"{d.row_count}\t{d.byte_size}\t{d.sha256 if d.state == 'ready' else d.state}"
        )


@datasets.command("download")
@click.argument("dataset_id", type=int)
@url_option
@key_option
@output_option
def download_dataset(url: str, api_key: str, dataset_id: int, output: Path) -> None:
    """Download snapshot DATASET_ID exactly as it was exported, its SHA-256 verified."""
    with remote_client(url, api_key) as client:
        snapshot = client.datasets.get(dataset_id)
        done = download_with_bar(client, dataset_id, snapshot.byte_size, output)
    where = "stdout" if str(output) == "-" else str(output)
    click.echo(
        f"downloaded dataset {dataset_id} ({snapshot.row_count} row(s), {done.byte_size} "
        f"bytes) to {where}; sha256 {done.sha256} verified",
        err=str(output) == "-",
    )
