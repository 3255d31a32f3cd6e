"""``labelmill demo``: the whole loop on the embedded default, in one command.

Starts a server on loopback, creates an organization, a project and a few thousand tasks with
hidden true answers, works them with simulated annotators of mixed quality, exports the
results and reports how good and how fast it was. The data directory stays, so
``labelmill serve --data-dir DIR`` shows the result afterwards.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from labelmill.cli.context import data_dir_option, open_database, settings_for
from labelmill.cli.remote import RemoteError, remote_client
from labelmill.cli.simulate_commands import print_worker_table, run_with_progress
from labelmill.client import Client
from labelmill.server.services import tenancy
from labelmill.server.services.auth import CLI_ADMIN
from labelmill.server.settings import Settings
from labelmill.simulate import SimulationConfig, recruit_workers, spread_accuracies
from labelmill.simulate.kinds import SyntheticKind, synthetic_kind, synthetic_kind_names
from labelmill.simulate.recruit import TRUTH_KEY
from labelmill.simulate.scoring import ExportScore, score_jsonl_export

DEMO_ACCURACY = (0.55, 0.95)
"""The simulated workforce ranges from barely-better-than-chance to expert."""


@dataclass(frozen=True, slots=True)
class DemoSetup:
    org_name: str
    api_key: str


def _create_org(settings_dir: Path | None) -> DemoSetup:
    """The organization and its owner key: the one step that needs the database directly."""
    with open_database(settings_dir) as db, db.write_session() as session:
        taken = {org.name for org in tenancy.list_orgs(session=session)}
        name = next(n for n in ("demo", *(f"demo-{i}" for i in range(2, 10_000))) if n not in taken)
        org = tenancy.create_org(session=session, name=name, actor=CLI_ADMIN)
        minted = tenancy.create_key(
            session=session,
            request=tenancy.KeyRequest(
                org=org, user=None, role="owner", is_test=False, name="demo"
            ),
            actor=CLI_ADMIN,
        )
        return DemoSetup(org_name=name, api_key=minted.secret)


def _server_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELMILL_")}
    env["LABELMILL_DATA_DIR"] = str(settings.data_dir.resolve())
    if settings.database_url:
        env["LABELMILL_DATABASE_URL"] = settings.database_url
    return env


@contextmanager
def _server(settings: Settings, log_path: Path) -> Iterator[str]:
    """A server subprocess on a loopback socket bound here; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "labelmill.cli.demo_server", str(sock.fileno())],
            pass_fds=[sock.fileno()],
            env=_server_env(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sock.close()  # the child holds the listening socket now
    try:
        yield f"http://127.0.0.1:{port}"
    except RemoteError as exc:
        if process.poll() is not None:
            raise RemoteError(f"{exc.message}\nthe demo server exited; see {log_path}") from exc
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _project_settings(workers: int) -> dict[str, Any]:
    """Dynamic overlap: three labels to start, more while the answer is uncertain, up to five
    (or as many as there are annotators: a task can never get more)."""
    return {"min_labels": min(3, workers), "max_labels": min(5, workers), "gold_rate": 0.05}


def _populate(
    client: Client, kind: SyntheticKind, n_tasks: int, workers: int, seed: int
) -> tuple[int, int, dict[str, Any], int]:
    """Project, batch and the kind's synthetic tasks, 5% of them gold; returns project id,
    batch id, ``unique_id → true response`` of the regular tasks, and the number of gold
    tasks."""
    project = client.projects.create(
        kind.project_name, kind.task_type, kind.project_params(), **_project_settings(workers)
    )
    batch = client.batches.create(project.id, "demo batch", start=True)
    rng = random.Random(seed)
    n_gold = max(1, round(n_tasks * 0.05))
    gold = set(rng.sample(range(n_tasks), n_gold))
    tasks: list[dict[str, Any]] = []
    truth: dict[str, Any] = {}
    for index in range(n_tasks):
        params, answer = kind.task(index, rng)
        task: dict[str, Any] = {
            "unique_id": f"{kind.task_type}-{index + 1}",
            "params": params,
            "metadata": {TRUTH_KEY: answer},
        }
        if index in gold:
            task["gold_answer"] = answer
        else:
            truth[task["unique_id"]] = answer
        tasks.append(task)
    client.tasks.create_many(project.id, tasks, batch.id)
    return project.id, batch.id, truth, n_gold


def _report(
    *,
    score: ExportScore,
    n_regular: int,
    n_gold: int,
    submitted: int,
    single_accuracy: float | None,
    elapsed_s: float,
) -> list[str]:
    accuracy = "-" if score.accuracy is None else f"{score.accuracy:.3f}"
    single = "-" if single_accuracy is None else f"{single_accuracy:.3f}"
    per_task = "-" if score.labels_per_task is None else f"{score.labels_per_task:.2f}"
    rate = submitted / elapsed_s if elapsed_s > 0 else 0.0
    task_rate = score.rows / elapsed_s if elapsed_s > 0 else 0.0
    return [
        f"tasks completed: {score.rows}/{n_regular} (plus {n_gold} gold tasks)",
        f"labels used: {score.labels} ({per_task} per task; {submitted} submitted incl. gold)",
        f"accuracy against hidden truth: {accuracy} (single labels: {single})",
        f"throughput: {rate:.1f} labels/s, {task_rate:.1f} tasks/s over {elapsed_s:.1f}s",
    ]


@click.command()
@data_dir_option
@click.option(
    "--tasks", "n_tasks", type=click.IntRange(1, 100_000), default=3000, show_default=True
)
@click.option("--workers", type=click.IntRange(1, 200), default=12, show_default=True)
@click.option(
    "--seconds",
    type=click.FloatRange(min=1),
    default=180,
    show_default=True,
    help="Upper bound on the annotation phase.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--type",
    "task_type",
    type=click.Choice(synthetic_kind_names()),
    default="categorization",
    show_default=True,
    help="Task type of the demo project (each has a synthetic data set with known answers).",
)
def demo(
    data_dir: Path | None, n_tasks: int, workers: int, seconds: float, seed: int, task_type: str
) -> None:
    """Run the whole loop on the embedded default and print a report."""
    settings = settings_for(data_dir)
    setup = _create_org(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    export_path = settings.data_dir / f"{setup.org_name}-export.jsonl"
    click.echo(f"organization {setup.org_name!r}; starting a server on loopback…", err=True)
    with _server(settings, settings.data_dir / "demo-server.log") as url:
        with remote_client(url, setup.api_key) as client:
            client.health()
            kind = synthetic_kind(task_type)
            assert kind is not None  # the option's choices are the synthetic kinds
            project_id, batch_id, truth, n_gold = _populate(client, kind, n_tasks, workers, seed)
            click.echo(
                f"{task_type} project {project_id}: {n_tasks} tasks ({n_gold} gold), "
                f"{workers} simulated annotators",
                err=True,
            )
            keys = recruit_workers(client, project_id, workers)
            task_truth = {
                task.id: task.metadata[TRUTH_KEY]
                for task in client.tasks.iter(project_id, page_size=1000)
            }
            config = SimulationConfig(
                base_url=url,
                project_id=project_id,
                worker_keys=keys,
                accuracies=spread_accuracies(DEMO_ACCURACY, workers),
                truth=task_truth,
                max_seconds=seconds,
                seed=seed,
            )
            result = run_with_progress(
                client, config, expected_tasks=len(truth), batch_ids=[batch_id]
            )
            started = time.perf_counter()
            client.export_to_file(project_id, export_path)
            export_s = time.perf_counter() - started
    with export_path.open("rb") as lines:
        score = score_jsonl_export(lines, truth, task_type)
    print_worker_table(result)
    click.echo("")
    click.echo("labelmill demo report")
    for line in _report(
        score=score,
        n_regular=len(truth),
        n_gold=n_gold,
        submitted=result.submitted,
        single_accuracy=result.observed_accuracy,
        elapsed_s=result.elapsed_s,
    ):
        click.echo(f"  {line}")
    click.echo(f"  export: {export_path} ({score.rows} rows in {export_s:.2f}s)")
    click.echo("")
    click.echo(f"organization key ({setup.org_name}): {setup.api_key}")
    where = "" if settings.database_url else f" --data-dir {settings.data_dir}"
    click.echo(f"see it: labelmill serve{where}  (then http://127.0.0.1:8080/docs)")
