"""``labelmill report``: a project's quality report (agreement and the per-worker table)."""

from __future__ import annotations

import click

from labelmill.cli.remote import key_option, project_option, remote_client, url_option
from labelmill.schemas import AgreementStats, QualityReport


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _agreement_line(label: str, stats: AgreementStats) -> str:
    return (
        f"{label}: {stats.tasks} tasks, {stats.annotations} answers; "
        f"agreement {_figure(stats.percent_agreement)}, "
        f"Fleiss' kappa {_figure(stats.fleiss_kappa)}, "
        f"Krippendorff's alpha {_figure(stats.krippendorff_alpha)}"
    )


def _interval(rate: float | None, low: float | None, high: float | None) -> str:
    if rate is None or low is None or high is None:
        return "-"
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]"


def render(report: QualityReport) -> str:
    """The report as plain text: a summary, then one line per worker."""
    tasks = report.tasks
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(tasks.by_status.items()))
    lines = [
        f"project {report.project_id}: {tasks.total} tasks ({statuses or 'none'}), "
        f"{tasks.gold} gold",
        f"mean labels per completed task {_figure(tasks.mean_labels_per_completed)}, "
        f"mean confidence {_figure(tasks.mean_confidence_completed)}",
        _agreement_line("completed tasks", report.agreement.completed),
        _agreement_line("all tasks with 2+ answers", report.agreement.all_tasks),
    ]
    if report.agreement.sampled:
        lines.append(f"(agreement over the {report.agreement.sample_limit} most recent tasks)")
    header = (
        f"{'worker':>8}  {'name':<20} {'answers':>7} {'gold':>9}  {'gold accuracy':<22} "
        f"{'agreement':<22} {'skill':>6} {'ms':>8}  removed"
    )
    lines += ["", header]
    for w in report.workers:
        lines.append(
            f"{w.worker_id:>8}  {w.name[:20]:<20} {w.answers:>7} "
            f"{f'{w.gold_correct}/{w.gold_answers}':>9}  "
            f"{_interval(w.gold_accuracy, w.gold_ci_low, w.gold_ci_high):<22} "
            f"{_interval(w.agreement_rate, w.agreement_ci_low, w.agreement_ci_high):<22} "
            f"{_figure(w.skill):>6} "
            f"{'-' if w.mean_duration_ms is None else f'{w.mean_duration_ms:.0f}':>8}  "
            f"{'yes' if w.removed_at else 'no'}"
        )
    if report.workers_total > len(report.workers):
        lines.append(f"… {report.workers_total - len(report.workers)} more workers (--limit)")
    if report.models:
        lines += ["", f"{'model':<30} {'score':>7} {'P(win)':>7} {'wins':>8} {'answers':>8}"]
        lines += [
            f"{m.model[:30]:<30} {m.score:>7.3f} {m.win_probability:>7.3f} {m.wins:>8g} "
            f"{m.comparisons:>8}"
            for m in report.models
        ]
    return "\n".join(lines)


@click.command("report")
@url_option
@key_option
@project_option
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Worker rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(url: str, api_key: str, project_id: int, limit: int, as_json: bool) -> None:
    """Agreement between annotators and per-worker quality of a project."""
    with remote_client(url, api_key) as client:
        result = client.projects.quality(project_id, limit=limit)
    click.echo(result.model_dump_json(indent=2) if as_json else render(result))
