"""``labelmill aggregate``: truth inference on a labels CSV, offline.

Reads crowd answers (``worker,task,label``, the layout of the public truth-inference data sets),
runs one of the :mod:`labelmill.quality` aggregators and prints a summary; ``--out`` saves
``task,label,confidence``; ``--gold`` adds accuracy on the gold tasks and a per-worker table.

Only :mod:`labelmill.quality` and pandas are imported: no server, no database, so the command
works on a laptop with nothing running and starts fast.

Methods that learn from gold (``auto`` with ``--gold``, ``gold-ds``, ``wmv``) pin the gold tasks
to their known answers, so their accuracy on those tasks would read 1.000 and mean nothing. Their
accuracy is therefore measured by cross-fitting: the gold tasks are split into folds, and each
fold is labelled by a fit that saw the gold of the other folds only. The labels written to
``--out`` come from one fit on all the gold.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from labelmill.cli.aggregate_remote import run_remote
from labelmill.quality import (
    GLAD,
    MACE,
    DawidSkene,
    GoldDawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
    ZeroBasedSkill,
    worker_accuracy,
)
from labelmill.quality import aggregate as robust_aggregate

#: Methods whose fit reads the gold answers (so their gold accuracy must be held out).
GOLD_FITTED = frozenset({"auto", "wmv", "gold-ds"})
#: Methods that cannot run without gold.
GOLD_REQUIRED = frozenset({"wmv", "gold-ds"})
#: ``wmv``: a worker's gold accuracy is shrunk towards the crowd's by a prior worth this many
#: answers, so one lucky gold answer does not make a worker weigh twice as much as the rest.
WMV_PRIOR_ANSWERS = 2.0
#: Rows of the per-worker table (the workers with most answers).
TOP_WORKERS = 10


@dataclass(frozen=True, slots=True)
class Fitted:
    """One aggregator's answer for every task."""

    labels: pd.Series[Any]
    """Chosen label of each task (indexed by task, in order of first appearance)."""
    confidence: pd.Series[Any]
    """Posterior probability (or vote share) of that label, same index."""
    description: str
    """The model and its parameters, for the summary."""


# -- reading -----------------------------------------------------------------------------------


def _fail(path: Path, message: str) -> click.ClickException:
    return click.ClickException(f"{path}: {message}")


def _read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, cells)`` of every non-blank row, the header first.

    The line is the 1-based line where the row starts (a quoted cell may span lines), so error
    messages point at what the user sees in an editor.
    """
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        line = 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield line, cells
                line = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as exc:
            raise _fail(path, f"line {line}: malformed CSV ({exc})") from None


def _header(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[str]:
    try:
        _line, header = next(rows)
    except StopIteration:
        raise _fail(path, "the file is empty (expected a header row)") from None
    names = [name.strip() for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise _fail(path, f"line 1: column {repeated[0]!r} appears more than once")
    return names


def _require(path: Path, header: list[str], column: str, option: str) -> int:
    if column not in header:
        raise _fail(
            path,
            f"no column {column!r} (the header has {', '.join(map(repr, header))}; "
            f"name yours with {option})",
        )
    return header.index(column)


def _columns(
    path: Path, rows: Iterator[tuple[int, list[str]]], header: list[str], wanted: dict[str, int]
) -> tuple[list[int], dict[str, list[str]]]:
    """Check every row and collect the ``wanted`` columns (name -> position) and line numbers."""
    lines: list[int] = []
    values: dict[str, list[str]] = {name: [] for name in wanted}
    for line, cells in rows:
        if len(cells) != len(header):
            raise _fail(
                path, f"line {line}: malformed row, {len(cells)} cells for {len(header)} columns"
            )
        for name, position in wanted.items():
            cell = cells[position]
            if not cell.strip():
                raise _fail(path, f"line {line}: column {name!r} is empty")
            values[name].append(cell)
        lines.append(line)
    if not lines:
        raise _fail(path, "no rows after the header")
    return lines, values


def read_labels(path: Path, task: str, worker: str, label: str) -> pd.DataFrame:
    """The answers as a DataFrame with columns ``task``, ``worker``, ``label`` (strings)."""
    rows = _read_rows(path)
    header = _header(path, rows)
    wanted = {
        task: _require(path, header, task, "--task-column"),
        worker: _require(path, header, worker, "--worker-column"),
        label: _require(path, header, label, "--label-column"),
    }
    _lines, values = _columns(path, rows, header, wanted)
    # Strings as read: "01" and "1" stay different labels, as they are in the file.
    return pd.DataFrame(
        {"task": values[task], "worker": values[worker], "label": values[label]}, dtype=object
    )


def _gold_label_column(path: Path, header: list[str], override: str | None) -> str:
    if override is not None:
        return override
    for candidate in ("true_label", "label"):
        if candidate in header:
            return candidate
    raise _fail(
        path,
        f"no column 'true_label' or 'label' (the header has {', '.join(map(repr, header))}; "
        "name yours with --gold-label-column)",
    )


def read_gold(path: Path, task: str, label_override: str | None) -> pd.Series[Any]:
    """Known answers, task -> label. The task column is ``task`` unless ``--task-column``'s name
    is in the gold header too (a user who renamed it in the labels usually did so here)."""
    rows = _read_rows(path)
    header = _header(path, rows)
    task_column = task if task in header else "task"
    label_column = _gold_label_column(path, header, label_override)
    wanted = {
        task_column: _require(path, header, task_column, "--task-column"),
        label_column: _require(path, header, label_column, "--gold-label-column"),
    }
    lines, values = _columns(path, rows, header, wanted)
    gold: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, key, value in zip(lines, values[task_column], values[label_column], strict=True):
        if key in gold and gold[key] != value:
            raise _fail(
                path,
                f"line {line}: task {key!r} has gold {value!r} here but {gold[key]!r} "
                f"on line {first_line[key]}",
            )
        gold.setdefault(key, value)
        first_line.setdefault(key, line)
    return pd.Series(gold, dtype=object, name="gold").rename_axis("task")


# -- fitting -----------------------------------------------------------------------------------


def _confidence(probas: pd.DataFrame, labels: pd.Series[Any]) -> pd.Series[Any]:
    # The posterior of the chosen label is the row maximum (labels_ is the argmax of probas_);
    # for the voting methods probas_ is the (weighted) vote share, so this is the share.
    values = probas.to_numpy(dtype=np.float64).max(axis=1)
    return pd.Series(values, index=probas.index, dtype=np.float64).reindex(labels.index)


def gold_weights(data: pd.DataFrame, gold: pd.Series[Any]) -> pd.Series[Any]:
    """``wmv`` vote weights: each worker's gold accuracy, shrunk towards the crowd's pooled gold
    accuracy; a worker with no gold answer gets the pooled accuracy (an average worker)."""
    table = worker_accuracy(data, gold)
    scored = float(table["n"].sum())
    # With no gold answer at all every worker is equal, and any common weight is plain MV.
    pooled = float(table["correct"].sum()) / scored if scored else 1.0
    weights = (table["correct"] + WMV_PRIOR_ANSWERS * pooled) / (table["n"] + WMV_PRIOR_ANSWERS)
    return weights.astype(np.float64)


def _model_fit(method: str, data: pd.DataFrame, gold: pd.Series[Any] | None, seed: int) -> Any:
    """The fitted crowd-kit-style model of ``method`` (every method but ``auto``)."""
    no_gold: dict[str, Callable[[], Any]] = {
        "mv": MajorityVote,
        "wawa": Wawa,
        "zbs": ZeroBasedSkill,
        "ds": DawidSkene,
        "onecoin": OneCoinDawidSkene,
        "glad": GLAD,
        "mace": lambda: MACE(random_state=seed),
    }
    if method in no_gold:
        return no_gold[method]().fit(data)
    empty = pd.Series(dtype=object)
    if method == "wmv":
        return MajorityVote().fit(data, gold_weights(data, empty if gold is None else gold))
    if method == "gold-ds":
        return GoldDawidSkene().fit(data, empty if gold is None else gold)
    raise ValueError(f"unknown method {method!r}")


def fit(method: str, data: pd.DataFrame, gold: pd.Series[Any] | None, seed: int) -> Fitted:
    """Run ``method`` on ``data``; ``gold`` is read only by the methods in ``GOLD_FITTED``."""
    if method == "auto":
        result = robust_aggregate(data, gold)
        return Fitted(result.labels, _confidence(result.probas, result.labels), result.method)
    model = _model_fit(method, data, gold, seed)
    labels: pd.Series[Any] = model.labels_
    description = repr(model)
    if method == "wmv":  # the weights are not in the model's repr
        description += f", weights: gold accuracy shrunk by {WMV_PRIOR_ANSWERS:g} answers"
    return Fitted(labels, _confidence(model.probas_, labels), description)


def held_out_predictions(
    method: str, data: pd.DataFrame, gold: pd.Series[Any], seed: int, folds: int
) -> tuple[pd.Series[Any], int]:
    """Each gold task's label from a fit that did not see its gold; returns (labels, folds)."""
    folds = max(1, min(folds, len(gold)))
    order = np.random.default_rng(seed).permutation(len(gold))
    predicted: list[pd.Series[Any]] = []
    for fold in range(folds):
        hidden = gold.index[order[fold::folds]]
        training = gold.drop(index=hidden)
        labels = fit(method, data, training if len(training) else None, seed).labels
        predicted.append(labels.reindex(hidden))
    return pd.concat(predicted), folds


# -- reporting ---------------------------------------------------------------------------------


def _summary(path: Path, data: pd.DataFrame) -> str:
    classes = sorted(data["label"].unique())
    shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
    return (
        f"{path.name}: {len(data)} labels, {data['task'].nunique()} tasks, "
        f"{data['worker'].nunique()} workers, {len(classes)} classes ({shown})"
    )


def _worker_table(data: pd.DataFrame, gold: pd.Series[Any]) -> list[str]:
    table = worker_accuracy(data, gold)
    table["answers"] = data.groupby("worker", sort=False).size()
    table = table.reset_index().sort_values(["answers", "worker"], ascending=[False, True])
    lines = [f"workers with most answers (top {TOP_WORKERS}), scored on gold:"]
    lines.append(f"  {'worker':<16} {'answers':>7} {'on gold':>7} {'accuracy':>8}  95% interval")
    for row in table.head(TOP_WORKERS).itertuples(index=False):
        accuracy = "-" if row.n == 0 else f"{row.accuracy:.3f}"
        interval = "-" if row.n == 0 else f"{row.ci_low:.3f}-{row.ci_high:.3f}"
        worker = str(row.worker)
        lines.append(f"  {worker:<16} {row.answers:>7} {row.n:>7} {accuracy:>8}  {interval}")
    return lines


def _accuracy_lines(
    method: str,
    data: pd.DataFrame,
    gold: pd.Series[Any],
    fitted: Fitted,
    seed: int,
    folds: int,
) -> list[str]:
    labelled = gold[gold.index.isin(data["task"])]
    absent = len(gold) - len(labelled)
    lines = [
        f"gold: {len(gold)} tasks, {len(labelled)} with at least one label"
        + (f" ({absent} absent from the labels, ignored)" if absent else "")
    ]
    if not len(labelled):
        return [*lines, "accuracy: no gold task has a label"]
    note = ""
    if method in GOLD_FITTED:
        predicted, used = held_out_predictions(method, data, labelled, seed, folds)
        note = f" (held out: {used}-fold cross-fit, each fold labelled without its own gold)"
    else:
        predicted = fitted.labels.reindex(labelled.index)
    correct = int((predicted.reindex(labelled.index) == labelled).sum())
    lines.append(f"accuracy {correct / len(labelled):.3f} on {len(labelled)} gold tasks{note}")
    return lines + _worker_table(data, labelled)


def write_result(path: Path, fitted: Fitted) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "label", "confidence"])
        for task, label, confidence in zip(
            fitted.labels.index, fitted.labels, fitted.confidence, strict=True
        ):
            writer.writerow([task, label, repr(round(float(confidence), 6))])


# -- the command -------------------------------------------------------------------------------

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("aggregate")
@click.argument("labels_path", metavar="[LABELS.csv]", type=_FILE, required=False)
@click.option(
    "--method",
    type=click.Choice(
        ["auto", "mv", "wmv", "wawa", "zbs", "ds", "onecoin", "glad", "mace", "gold-ds"]
    ),
    default="auto",
    show_default=True,
    help="auto: labelmill's robust Dawid-Skene (uses --gold when given); mv: majority vote; "
    "wmv: majority vote weighted by gold accuracy (needs --gold); wawa, zbs, ds, onecoin, glad, "
    "mace: as in crowd-kit; gold-ds: Dawid-Skene with gold tasks pinned (needs --gold).",
)
@click.option("--gold", "gold_path", type=_FILE, help="CSV of known answers: task,true_label.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write task,label,confidence here.",
)
@click.option("--task-column", default="task", show_default=True)
@click.option("--worker-column", default="worker", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--gold-label-column", help="Label column of the gold file [default: true_label or label]."
)
@click.option("--seed", default=0, show_default=True, help="Seed of MACE and of the gold folds.")
@click.option(
    "--folds",
    default=5,
    show_default=True,
    type=click.IntRange(min=2),
    help="Folds for the held-out accuracy of methods that learn from gold.",
)
@click.option(
    "--project",
    "project_id",
    type=int,
    help="Re-aggregate this project on the server instead (a background job; with --url, --key).",
)
@click.option(
    "--url", envvar="LABELMILL_URL", help="With --project: the server (or LABELMILL_URL)."
)
@click.option(
    "--key", "api_key", envvar="LABELMILL_API_KEY", help="With --project: an organization key."
)
@click.option("--wait/--no-wait", default=True, help="With --project: wait for the job.")
@click.option("--timeout", default=600.0, show_default=True, help="With --project --wait.")
def aggregate(
    labels_path: Path | None,
    method: str,
    gold_path: Path | None,
    out_path: Path | None,
    task_column: str,
    worker_column: str,
    label_column: str,
    gold_label_column: str | None,
    seed: int,
    folds: int,
    project_id: int | None,
    url: str | None,
    api_key: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Infer one label per task from crowd labels in LABELS.csv (columns worker, task, label),
    or with --project re-aggregate a project's answers on a server.

    Offline: no server is needed. With --gold, prints the accuracy on the gold tasks and how
    accurate the busiest workers were.
    """
    if project_id is not None:
        if labels_path is not None:
            raise click.UsageError("give LABELS.csv (offline) or --project (on a server), not both")
        if not url or not api_key:
            raise click.UsageError("--project needs --url and --key (or LABELMILL_URL/_API_KEY)")
        run_remote(
            url=url,
            api_key=api_key,
            project_id=project_id,
            method=method,
            wait=wait,
            timeout=timeout,
        )
        return
    if labels_path is None:
        raise click.UsageError("give LABELS.csv, or --project to re-aggregate on a server")
    if method in GOLD_REQUIRED and gold_path is None:
        raise click.UsageError(f"--method {method} needs --gold")
    data = read_labels(labels_path, task_column, worker_column, label_column)
    gold = None if gold_path is None else read_gold(gold_path, task_column, gold_label_column)
    repeats = int(data.duplicated(["task", "worker"]).sum())
    if repeats:
        click.echo(f"warning: {repeats} repeated (worker, task) answers; each counts", err=True)
    # Gold for tasks nobody labelled says nothing about the crowd; leave it out of the fit.
    fit_gold = None if gold is None else gold[gold.index.isin(data["task"])]
    try:
        fitted = fit(method, data, fit_gold, seed)
    except ValueError as exc:  # the library's own check of its input
        raise click.ClickException(f"{labels_path}: {exc}") from None
    click.echo(_summary(labels_path, data))
    click.echo(f"method: {method} = {fitted.description}")
    pinned = ""
    if method in GOLD_FITTED - {"wmv"} and fit_gold is not None and len(fit_gold):
        pinned = f" ({len(fit_gold)} gold tasks pinned at 1)"
    click.echo(f"mean confidence {fitted.confidence.mean():.3f}{pinned}")
    if gold is not None:
        for line in _accuracy_lines(method, data, gold, fitted, seed, folds):
            click.echo(line)
    if out_path is None:
        click.echo("(pass --out FILE to save the labels)")
        return
    try:
        write_result(out_path, fitted)
    except OSError as exc:
        raise click.ClickException(f"{out_path}: cannot write ({exc.strerror})") from None
    click.echo(f"wrote {len(fitted.labels)} labels to {out_path}")
