"""What the over-HTTP commands share: ``--url``/``--key`` options, an SDK client, and API or
network errors turned into clean messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import httpx

from labelmill.client import ApiError, Client


class RemoteError(click.ClickException):
    """An error answer of the server (or no answer at all), rendered for the terminal."""


def describe_api_error(exc: ApiError, *, max_details: int = 20) -> str:
    lines = [f"{exc.message} (HTTP {exc.status_code} {exc.code})"]
    for item in exc.details[:max_details]:
        lines.append(f"  {'.'.join(map(str, item.loc))}: {item.message}")
    if len(exc.details) > max_details:
        lines.append(f"  … and {len(exc.details) - max_details} more")
    lines.extend(getattr(exc, "__notes__", []))
    return "\n".join(lines)


@contextmanager
def remote_errors(url: str) -> Iterator[None]:
    try:
        yield
    except ApiError as exc:
        raise RemoteError(describe_api_error(exc)) from exc
    except httpx.TransportError as exc:
        raise RemoteError(f"cannot reach the labelmill server at {url}: {exc}") from exc


@contextmanager
def remote_client(url: str, api_key: str) -> Iterator[Client]:
    """An SDK client whose API and network errors leave as ``RemoteError``."""
    with remote_errors(url), Client(url, api_key) as client:
        yield client


url_option = click.option(
    "--url",
    required=True,
    envvar="LABELMILL_URL",
    help="The server, e.g. http://127.0.0.1:8080 (or LABELMILL_URL).",
)
key_option = click.option(
    "--key",
    "api_key",
    required=True,
    envvar="LABELMILL_API_KEY",
    help="An organization API key (or LABELMILL_API_KEY).",
)
project_option = click.option("--project", "project_id", required=True, type=int)
