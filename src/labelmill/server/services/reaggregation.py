"""Project-wide re-aggregation (DESIGN.md §6): one model over every answer of a project
(Dawid-Skene by default, calibrated on the gold tasks) may revise answers that the online rule
settled task by task; each changed answer is recorded with the value it replaced.

Runs as a background job (``project.reaggregate``), requested through the API, the SDK or
``labelmill aggregate --project``. Categorical task types, whose models need a fixed set of
answers, and ratings: each criterion's worker-bias-corrected mean
(``quality.aggregate_ratings``), which also stores every worker's bias for the settlements
that follow (the online rule cannot tell a harsh rater from a hard item within one task).

A reviewer's decision outranks the model: a task whose answer a reviewer accepted or corrected
is never revised, and its answer counts as known (like gold) for the default method; a task in
a reviewer's hands is left alone until the next run. A revision moves the answering workers'
agreement to the new answer (``worker_skills.revise_agreements``) and calls the customer back
with it, as a review correction does.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.errors import InvalidInput
from labelmill.server.models import Annotation, AnswerRevision, Job, Project, Task
from labelmill.server.services import audit, callbacks, jobs, overlap_target, worker_skills
from labelmill.server.services.auth import Principal
from labelmill.server.services.pagination import Cursor, page_of
from labelmill.server.services.projects import task_type_of, version_params
from labelmill.tasktypes.base import TaskType
from labelmill.tasktypes.votes import tidy_number

if TYPE_CHECKING:
    import pandas as pd

JOB_KIND = "project.reaggregate"
Method = Literal["auto", "dawid_skene", "majority_vote"]
METHODS: tuple[Method, ...] = ("auto", "dawid_skene", "majority_vote")
#: Review outcomes that fix a task's answer (``task.review_status``).
REVIEWED = ("accepted", "corrected")


@dataclass(frozen=True, slots=True)
class Outcome:
    tasks: int
    changed: int


def request(*, session: Session, project: Project, method: str, actor: Principal) -> Job:
    """Queue a re-aggregation of ``project``; refused for a type without fixed answers (but
    ratings, whose model is the worker-bias-corrected mean: method ``auto`` only)."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    task_type = task_type_of(project.task_type)
    if task_type.corrects_worker_bias:
        if method != "auto":
            raise InvalidInput(
                f"method must be 'auto' (the worker-bias-corrected mean) for task type "
                f"{project.task_type!r}, not {method!r}"
            )
    elif task_type.answer_classes(project.params, {}) is None:
        raise InvalidInput(
            f"task type {project.task_type!r} has no fixed set of answers to re-aggregate"
        )
    job = jobs.enqueue(
        session=session,
        kind=JOB_KIND,
        org_id=project.org_id,
        payload={"project_id": project.id, "method": method},
    )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=project.org_id,
        action="project.reaggregate.request",
        object_type="project",
        object_id=project.id,
        data={"method": method, "job_id": job.id},
    )
    return job


def _fit(
    method: str, data: pd.DataFrame, gold: pd.Series[Any]
) -> tuple[pd.Series[Any], pd.Series[Any]]:
    """Labels and confidences per task. Imported here: pandas/scipy models are heavy."""
    from labelmill.quality import DawidSkene, MajorityVote, aggregate

    if method == "auto":
        result = aggregate(data, gold if len(gold) else None)
        return result.labels, result.confidence
    model = DawidSkene() if method == "dawid_skene" else MajorityVote()
    probas = model.fit_predict_proba(data)
    return probas.idxmax(axis=1), probas.max(axis=1)


def run(db: Database, project_id: int, method: str, job_id: int | None) -> Outcome:
    """Fit ``method`` on the project's answers and revise the completed tasks it disagrees
    with. Each revision re-checks, with the task row locked, that the answer is still the one
    the model saw (a concurrent change wins; the next run sees it)."""
    with db.read_session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return Outcome(0, 0)
        task_type = task_type_of(project.task_type)
        criteria: list[dict[str, Any]] = list(project.params.get("criteria", []))
        rows = session.execute(
            select(Annotation.task_id, Annotation.worker_id, Annotation.response, Annotation.id)
            .join(Task, Task.id == Annotation.task_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.worker_id.is_not(None),
                (Task.status == "completed") | Task.is_gold,
            )
            .order_by(Annotation.id)
        ).all()
        gold_rows = session.execute(
            select(Task.id, Task.gold_answer).where(
                Task.project_id == project_id, Task.is_gold, Task.gold_answer.is_not(None)
            )
        ).all()
        completed = select(Task.id, Task.response, Task.review_status).where(
            Task.project_id == project_id, Task.status == "completed", ~Task.is_gold
        )
        current: dict[int, Any] = {}
        reviewed: dict[int, Any] = {}
        for task_id, response, review_status in session.execute(completed):
            if review_status in REVIEWED:
                reviewed[task_id] = response
            elif review_status != "in_review":
                current[task_id] = response
    # Ratings still learn the workers' biases when every completed answer is a reviewer's.
    if not rows or not (current or task_type.corrects_worker_bias):
        return Outcome(len(current) + len(reviewed), 0)
    biases: worker_skills.Biases = {}
    if task_type.corrects_worker_bias:
        proposals, biases = _rating_proposals(criteria, rows)

        def differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
            return _ratings_moved(criteria, old, new)
    else:
        known = {t: a for t, a in gold_rows if a} | {t: a for t, a in reviewed.items() if a}
        proposals = _categorical_proposals(task_type, method, rows, known)

        def differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
            return task_type.answer_key(old) != task_type.answer_key(new)

    changed = 0
    for task_id, old in current.items():
        if task_id not in proposals or old is None:
            continue
        new, confidence = proposals[task_id]
        if differs(old, new):
            changed += _revise(db, task_type, task_id, old, new, confidence, method, job_id)
    with db.write_session() as session:
        # Revised answers moved skills' evidence: a derived target follows (match_overlap).
        locked = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
        if locked is not None:
            overlap_target.refresh(session=session, project=locked)
        worker_skills.store_rating_biases(session.connection(), project_id, biases)
        audit.record(
            session=session,
            actor=None,
            org_id=project.org_id,
            action="project.reaggregated",
            object_type="project",
            object_id=project_id,
            data={
                "method": method,
                "tasks": len(current) + len(reviewed),
                "changed": changed,
                "job_id": job_id,
            },
        )
    return Outcome(len(current) + len(reviewed), changed)


Proposals = dict[int, tuple[dict[str, Any], float]]
"""Task id -> (the model's answer, its confidence)."""


def _categorical_proposals(
    task_type: TaskType, method: str, rows: Sequence[Any], known: dict[int, Any]
) -> Proposals:
    """The model's answer of every task, as one of the task's own responses with that key."""
    import pandas as pd  # here: the server does not load pandas until a job needs it

    data = pd.DataFrame(
        {
            "task": [r[0] for r in rows],
            "worker": [r[1] for r in rows],
            "label": [task_type.answer_key(r[2]) for r in rows],
        }
    )
    gold = pd.Series({t: task_type.answer_key(a) for t, a in known.items()}, dtype=object)
    labels, confidence = _fit(method, data, gold)
    # The first answer with each key, to use as the task's response when that key wins.
    first_with_key: dict[tuple[int, Hashable], dict[str, Any]] = {}
    for task_id, _worker, response, _id in rows:
        first_with_key.setdefault((task_id, task_type.answer_key(response)), response)
    proposals: Proposals = {}
    certainty = confidence.reindex(labels.index).tolist()
    for task_id, key, sure in zip(labels.index.tolist(), labels.tolist(), certainty, strict=True):
        response = first_with_key.get((int(task_id), key))
        if response is not None:
            proposals[int(task_id)] = (response, float(sure))
    return proposals


def _rating_proposals(
    criteria: Sequence[dict[str, Any]], rows: Sequence[Any]
) -> tuple[Proposals, worker_skills.Biases]:
    """Each criterion's worker-bias-corrected mean (``quality.aggregate_ratings``), kept
    within the scale; the task's confidence is its least confident criterion's. Also each
    worker's bias per criterion, which later settlements subtract."""
    import pandas as pd

    from labelmill.quality import aggregate_ratings

    ratings: dict[int, dict[str, Any]] = {}
    confidence: dict[int, float] = {}
    biases: worker_skills.Biases = {}
    for criterion in criteria:
        name = criterion["name"]
        given = [
            (task_id, worker, float(value))
            for task_id, worker, response, _id in rows
            if (value := response.get("ratings", {}).get(name)) is not None
        ]
        if not given:
            continue
        result = aggregate_ratings(pd.DataFrame(given, columns=["task", "worker", "label"]))
        low, high = float(criterion["min"]), float(criterion["max"])
        tasks = result.values.index.tolist()
        sure = result.confidence.reindex(result.values.index).tolist()
        for task_id, value, task_sure in zip(tasks, result.values.tolist(), sure, strict=True):
            clipped = min(high, max(low, float(value)))
            ratings.setdefault(int(task_id), {})[name] = tidy_number(round(clipped, 6))
            confidence[int(task_id)] = min(confidence.get(int(task_id), 1.0), float(task_sure))
        for worker, bias in zip(result.bias.index.tolist(), result.bias.tolist(), strict=True):
            biases.setdefault(int(worker), {})[name] = float(bias)
    proposals = {t: ({"ratings": r}, confidence[t]) for t, r in ratings.items()}
    return proposals, biases


def _ratings_moved(
    criteria: Sequence[dict[str, Any]], old: dict[str, Any], new: dict[str, Any]
) -> bool:
    """Whether some criterion moved by half its step or more (the answer would round to
    another point of the scale): smaller moves, such as a skill-weighted mean becoming an
    unweighted one, are not worth a revision and a callback."""
    before, after = old.get("ratings", {}), new.get("ratings", {})
    for criterion in criteria:
        name = criterion["name"]
        if (name in before) != (name in after):
            return True
        if name in before and abs(float(after[name]) - float(before[name])) >= (
            float(criterion.get("step", 1)) / 2
        ):
            return True
    return False


def _revise(
    db: Database,
    task_type: TaskType,
    task_id: int,
    old: dict[str, Any],
    new: dict[str, Any],
    confidence: float,
    method: str,
    job_id: int | None,
) -> int:
    with db.write_session() as session:
        task = session.scalar(select(Task).where(Task.id == task_id).with_for_update())
        if (
            task is None
            or task.status != "completed"
            or task.response != old
            or task.review_status in (*REVIEWED, "in_review")
        ):
            return 0
        session.add(
            AnswerRevision(
                task_id=task_id,
                project_id=task.project_id,
                job_id=job_id,
                method=method,
                old_response=old,
                new_response=new,
                old_confidence=task.confidence,
                new_confidence=confidence,
            )
        )
        now = utcnow()
        task.response = new
        task.confidence = confidence
        task.updated_at = now
        params = version_params(
            session.connection(), project_id=task.project_id, version=task.project_version
        )
        annotations = session.execute(
            select(Annotation.worker_id, Annotation.response)
            .where(Annotation.task_id == task_id, Annotation.worker_id.is_not(None))
            .order_by(Annotation.id)
        ).all()
        changes = worker_skills.agreement_changes(task_type, params, annotations, old, new)
        worker_skills.revise_agreements(session.connection(), task.project_id, changes, now)
        session.flush()
        callbacks.enqueue_task_event(session, [task], "completed")
    return 1


def list_revisions(
    *, session: Session, project: Project, cursor: Cursor
) -> tuple[list[AnswerRevision], str | None]:
    query = select(AnswerRevision).where(AnswerRevision.project_id == project.id)
    return page_of(session, query, AnswerRevision.id, cursor)


def _handle(db: Database, job: Job) -> None:
    run(db, int(job.payload["project_id"]), str(job.payload["method"]), job.id)


def register() -> None:
    jobs.register_handler(JOB_KIND, _handle)
