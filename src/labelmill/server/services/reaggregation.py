"""Project-wide re-aggregation (DESIGN.md §6): one model over every answer of a project
(Dawid-Skene by default, calibrated on the gold tasks) may revise answers that the online rule
settled task by task; each changed answer is recorded with the value it replaced.

Runs as a background job (``project.reaggregate``), requested through the API, the SDK or
``labelmill aggregate --project``. Categorical task types only: the models need a fixed set
of answers.

A reviewer's decision outranks the model: a task whose answer a reviewer accepted or corrected
is never revised, and its answer counts as known (like gold) for the default method; a task in
a reviewer's hands is left alone until the next run. A revision moves the answering workers'
agreement to the new answer (``worker_skills.revise_agreements``) and calls the customer back
with it, as a review correction does.
"""

from __future__ import annotations

from collections.abc import Hashable
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
    """Queue a re-aggregation of ``project``; refused for a type without fixed answers."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if task_type_of(project.task_type).answer_classes(project.params, {}) is None:
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
    if not rows or not current:
        return Outcome(len(current) + len(reviewed), 0)
    import pandas as pd  # here: the server does not load pandas until a job needs it

    data = pd.DataFrame(
        {
            "task": [r[0] for r in rows],
            "worker": [r[1] for r in rows],
            "label": [task_type.answer_key(r[2]) for r in rows],
        }
    )
    known = {t: a for t, a in gold_rows if a} | {t: a for t, a in reviewed.items() if a}
    gold = pd.Series({t: task_type.answer_key(a) for t, a in known.items()}, dtype=object)
    labels, confidence = _fit(method, data, gold)
    # The first answer with each key, to use as the task's response when that key wins.
    first_with_key: dict[tuple[int, Hashable], dict[str, Any]] = {}
    for task_id, _worker, response, _id in rows:
        first_with_key.setdefault((task_id, task_type.answer_key(response)), response)
    changed = 0
    for task_id, old in current.items():
        if task_id not in labels.index or old is None:
            continue
        new_key = labels[task_id]
        if task_type.answer_key(old) == new_key:
            continue
        new = first_with_key.get((task_id, new_key))
        if new is None:
            continue
        changed += _revise(db, task_id, old, new, float(confidence[task_id]), method, job_id)
    with db.write_session() as session:
        # Revised answers moved skills' evidence: a derived target follows (match_overlap).
        locked = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
        if locked is not None:
            overlap_target.refresh(session=session, project=locked)
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


def _revise(
    db: Database,
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
        project = session.get_one(Project, task.project_id)
        params = version_params(
            session.connection(), project_id=project.id, version=task.project_version
        )
        annotations = session.execute(
            select(Annotation.worker_id, Annotation.response)
            .where(Annotation.task_id == task_id, Annotation.worker_id.is_not(None))
            .order_by(Annotation.id)
        ).all()
        changes = worker_skills.agreement_changes(
            task_type_of(project.task_type), params, annotations, old, new
        )
        worker_skills.revise_agreements(session.connection(), project.id, changes, now)
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
