"""``labelmill aggregate --project``: re-aggregate a project on a server, as a background job.

The server fits the model over every answer of the project and revises the completed answers
it disagrees with (each revision keeps the old answer). By default the command waits for the
job and prints what changed.
"""

from __future__ import annotations

import time

import click

from labelmill.cli.remote import remote_client
from labelmill.client import Client

#: The offline method names that the server also runs, and the server's names for them.
SERVER_METHODS = {"auto": "auto", "ds": "dawid_skene", "mv": "majority_vote"}
_POLL_SECONDS = 0.5


def run_remote(
    *, url: str, api_key: str, project_id: int, method: str, wait: bool, timeout: float
) -> None:
    if method not in SERVER_METHODS:
        choices = ", ".join(SERVER_METHODS)
        raise click.UsageError(f"--method {method} runs offline only; with --project use {choices}")
    with remote_client(url, api_key) as client:
        job = client.projects.aggregate(project_id, SERVER_METHODS[method])
        click.echo(f"re-aggregation of project {project_id} queued as job {job.id} ({method})")
        if not wait:
            return
        status = _wait_for(client, job.id, timeout)
        if status != "done":
            raise click.ClickException(f"job {job.id} is {status} after {timeout:.0f}s")
        changed = [
            revision
            for revision in client.projects.iter_revisions(project_id, page_size=1000)
            if revision.job_id == job.id
        ]
    click.echo(f"job {job.id} done: {len(changed)} answer(s) changed")
    for revision in changed[:20]:
        click.echo(
            f"  task {revision.task_id}: {revision.old_response} -> {revision.new_response}"
            f" (confidence {revision.new_confidence:.3f})"
        )
    if len(changed) > 20:
        click.echo(f"  … and {len(changed) - 20} more (GET /api/projects/{project_id}/revisions)")


def _wait_for(client: Client, job_id: int, timeout: float) -> str:
    """The job's status once it is done or failed, or its status at the deadline."""
    deadline = time.monotonic() + timeout
    status = "pending"
    while True:
        for job in client.jobs.iter(kind="project.reaggregate"):
            if job.id == job_id:
                status = job.status
                break
        if status in ("done", "failed") or time.monotonic() >= deadline:
            return status
        time.sleep(_POLL_SECONDS)  # polling a server-side job; nothing to wait on locally
