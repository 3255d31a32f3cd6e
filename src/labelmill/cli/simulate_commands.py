"""``labelmill simulate``: a simulated workforce of known accuracy on a running server."""

from __future__ import annotations

import click

from labelmill.cli.progress import progress_bar
from labelmill.cli.remote import (
    key_option,
    project_option,
    remote_client,
    remote_errors,
    url_option,
)
from labelmill.client import Client
from labelmill.simulate import (
    Simulation,
    SimulationConfig,
    SimulationResult,
    parse_accuracies,
    recruit_workers,
    spread_accuracies,
    truth_from_tasks,
)


def _accuracies(_ctx: click.Context, _param: click.Parameter, value: str) -> list[float]:
    try:
        return parse_accuracies(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def run_with_progress(
    client: Client, config: SimulationConfig, *, expected_tasks: int | None, batch_ids: list[int]
) -> SimulationResult:
    """Run the simulation, showing completed tasks (read from the server) or annotations."""
    simulation = Simulation(config)
    with progress_bar("{task.fields[annotations]} labels") as progress:
        bar = progress.add_task("tasks completed", total=expected_tasks, annotations=0)
        simulation.start()
        try:
            while not simulation.wait(timeout=0.5):
                completed = sum(client.batches.counts(b).completed for b in batch_ids)
                progress.update(bar, completed=completed, annotations=simulation.submitted)
        except BaseException:
            simulation.stop()
            simulation.wait()
            raise
        completed = sum(client.batches.counts(b).completed for b in batch_ids)
        progress.update(bar, completed=completed, annotations=simulation.submitted)
    return simulation.result()


def print_worker_table(result: SimulationResult) -> None:
    click.echo("worker  accuracy  labels  correct")
    for stats in result.workers:
        observed = stats.observed_accuracy
        shown = "-" if observed is None else f"{observed:.2f}"
        click.echo(
            f"{stats.index + 1:>6}  {stats.accuracy:>8.2f}  {stats.submitted:>6}  {shown:>7}"
        )


@click.command()
@url_option
@key_option
@project_option
@click.option("--workers", type=click.IntRange(1, 1000), default=8, show_default=True)
@click.option(
    "--accuracy",
    callback=_accuracies,
    default="0.9",
    show_default=True,
    help="One accuracy, or several (e.g. 0.6,0.95) spread over the workers.",
)
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--max-annotations", type=click.IntRange(min=0), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--truth-key",
    default="_truth",
    show_default=True,
    help="Task metadata key holding the true category.",
)
def simulate(
    url: str,
    api_key: str,
    project_id: int,
    workers: int,
    accuracy: list[float],
    max_seconds: float | None,
    max_annotations: int | None,
    seed: int,
    truth_key: str,
) -> None:
    """Work a project with N simulated annotators over HTTP.

    Creates N worker accounts (in the organization's "simulated-annotators" pool, which is
    made to staff the project), then each loops next-task → submit until no task is left or
    a bound is hit. An annotator answers the truth with its accuracy; the truth is read with
    the organization key from task metadata (--truth-key) or from gold answers. Workers never
    see either.
    """
    accuracies = spread_accuracies(accuracy, workers)
    with remote_client(url, api_key) as client:
        truth = truth_from_tasks(client, project_id, key=truth_key)
        if not truth:
            click.echo(
                f"note: no task has metadata {truth_key!r} or a gold answer: answers are guesses",
                err=True,
            )
        keys = recruit_workers(client, project_id, workers)
        batch_ids = [batch.id for batch in client.batches.iter(project_id, page_size=1000)]
        # Gold tasks stay pending (they measure workers); the bar counts the others.
        n_gold = sum(1 for _ in client.tasks.iter(project_id, is_gold=True, page_size=1000))
        expected = (
            sum(
                counts.pending + counts.completed
                for counts in (client.batches.counts(b) for b in batch_ids)
            )
            - n_gold
        )
        config = SimulationConfig(
            base_url=url,
            project_id=project_id,
            worker_keys=keys,
            accuracies=accuracies,
            truth=truth,
            max_seconds=max_seconds,
            max_annotations=max_annotations,
            seed=seed,
        )
        with remote_errors(url):
            result = run_with_progress(
                client, config, expected_tasks=expected or None, batch_ids=batch_ids
            )
        counts = [client.batches.counts(b) for b in batch_ids]
    completed = sum(c.completed for c in counts)
    pending = sum(c.pending for c in counts)
    print_worker_table(result)
    observed = result.observed_accuracy
    click.echo(
        f"submitted {result.submitted} annotation(s) in {result.elapsed_s:.1f}s "
        f"({result.annotations_per_second:.1f}/s), {result.rejected} rejected, "
        f"stopped: {result.stop_reason}"
    )
    click.echo(f"tasks completed: {completed}, still pending: {pending - n_gold} (+{n_gold} gold)")
    if observed is not None:
        click.echo(f"label accuracy against the truth: {observed:.3f}")
