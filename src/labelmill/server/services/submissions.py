"""Submissions: validate, record, count, and complete the task when its answer is settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from labelmill.server.errors import Conflict, ErrorDetail, InvalidInput
from labelmill.server.models import Annotation, Assignment, Project, Task
from labelmill.server.services import batches
from labelmill.server.services.completion import majority_decision
from labelmill.server.services.projects import task_type_of, version_params
from labelmill.server.services.queue import get_own_assignment, lock_task_row
from labelmill.tasktypes import ParamsError, TaskType


@dataclass(frozen=True, slots=True)
class Submitted:
    annotation_id: int
    task_id: int
    late: bool


def _validated(
    task_type: TaskType, raw: dict[str, Any], project_params: Any, task_params: Any
) -> dict[str, Any]:
    try:
        return task_type.validate_response(raw, project_params, task_params)
    except ParamsError as exc:
        raise InvalidInput(
            f"invalid response: {exc}",
            details=[ErrorDetail(("response", *loc), msg) for loc, msg in exc.problems],
        ) from None


def submit(
    *,
    session: Session,
    assignment_id: int,
    worker_id: int,
    response: dict[str, Any],
    duration_ms: int | None,
    now: datetime,
) -> Submitted:
    """Record the worker's answer.

    A submission on an expired lease is accepted while the task is pending: the work was
    done and is paid. If the slot it held was meanwhile given to someone else, the task's
    label target grows by one so that leases + annotations never exceed it (invariant 2).
    """
    task_id, project_id = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    task = lock_task_row(session, task_id)
    status, expires_at = session.execute(
        select(Assignment.status, Assignment.expires_at).where(Assignment.id == assignment_id)
    ).one()
    if status in ("submitted", "skipped"):
        raise Conflict(f"assignment {assignment_id} is already {status}")
    if task.status != "pending":
        raise Conflict(f"task {task_id} is {task.status}; the submission was not needed")

    project = session.execute(
        select(Project.task_type, Project.max_labels).where(Project.id == project_id)
    ).one()
    task_type = task_type_of(project.task_type)
    project_params = version_params(
        session=session, project_id=project_id, version=task.project_version
    )
    clean = _validated(task_type, response, project_params, task.params)

    late = status == "expired" or expires_at <= now
    open_leases = task.open_leases - (1 if status == "leased" else 0)
    label_target = task.label_target
    if not task.is_gold and open_leases + task.n_annotations + 1 > label_target:
        label_target += 1
    gold_correct = None
    if task.is_gold:
        gold_correct = task_type.answer_key(clean) == task_type.answer_key(task.gold_answer)

    annotation_id = session.scalar(
        insert(Annotation)
        .values(
            task_id=task_id,
            project_id=project_id,
            assignment_id=assignment_id,
            worker_id=worker_id,
            source="human",
            response=clean,
            duration_ms=duration_ms,
            gold_correct=gold_correct,
            late=late,
            created_at=now,
        )
        .returning(Annotation.id)
    )
    assert annotation_id is not None
    session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id)
        .values(status="submitted", ended_at=now)
    )
    n_annotations = task.n_annotations + 1
    values: dict[str, Any] = {
        "open_leases": open_leases,
        "n_annotations": n_annotations,
        "label_target": label_target,
        "updated_at": now,
    }
    finished = False
    if not task.is_gold and n_annotations >= label_target:
        finished = _settle_answer(session, task_id, task_type, project.max_labels, values, now)
    session.execute(update(Task).where(Task.id == task_id).values(**values))
    if finished:
        batches.settle_batch(session=session, batch_id=task.batch_id)
    return Submitted(annotation_id=annotation_id, task_id=task_id, late=late)


def _settle_answer(
    session: Session,
    task_id: int,
    task_type: TaskType,
    max_labels: int,
    values: dict[str, Any],
    now: datetime,
) -> bool:
    """Fill ``values`` with the completion (or a raised target). Returns whether done."""
    responses = list(
        session.scalars(
            select(Annotation.response).where(Annotation.task_id == task_id).order_by(Annotation.id)
        )
    )
    keys = [task_type.answer_key(r) for r in responses]
    decision = majority_decision(
        responses, keys, at_max_labels=values["label_target"] >= max_labels
    )
    values["confidence"] = decision.confidence
    if decision.complete:
        values.update(status="completed", response=decision.response, completed_at=now)
        return True
    values["label_target"] = values["label_target"] + 1
    return False
