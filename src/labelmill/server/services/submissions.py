"""Submissions: validate, record, count, and complete the task when its answer is settled.

Like the queue, this runs on every annotation: statements are built once at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.orm import Session

from labelmill.server.db.base import UtcDateTime
from labelmill.server.errors import Conflict, ErrorDetail, InvalidInput
from labelmill.server.models import Annotation, Assignment, Task
from labelmill.server.services import batches
from labelmill.server.services.completion import majority_decision
from labelmill.server.services.projects import task_type_of, version_params
from labelmill.server.services.queue import assignment_state, get_own_assignment, lock_task_row
from labelmill.tasktypes import ParamsError, TaskType

_task = cast(Table, Task.__table__)
_annotation = cast(Table, Annotation.__table__)
_assignment = cast(Table, Assignment.__table__)

_INSERT_ANNOTATION = _annotation.insert().returning(_annotation.c.id)
_MARK_SUBMITTED = (
    update(_assignment)
    .where(_assignment.c.id == bindparam("a_id"))
    .values(status="submitted", ended_at=bindparam("ended", type_=UtcDateTime()))
)
_COUNTS = {
    "open_leases": bindparam("new_open_leases"),
    "n_annotations": bindparam("new_n_annotations"),
    "label_target": bindparam("new_label_target"),
    "updated_at": bindparam("new_updated_at", type_=UtcDateTime()),
    "confidence": bindparam("new_confidence"),
}
_UPDATE_COUNTS = update(_task).where(_task.c.id == bindparam("t_id")).values(**_COUNTS)
_UPDATE_COMPLETED = (
    update(_task)
    .where(_task.c.id == bindparam("t_id"))
    .values(
        **_COUNTS,
        status="completed",
        response=bindparam("new_response", type_=_task.c.response.type),
        completed_at=bindparam("new_completed_at", type_=UtcDateTime()),
    )
)
_RESPONSES = (
    select(_annotation.c.response)
    .where(_annotation.c.task_id == bindparam("t_id"))
    .order_by(_annotation.c.id)
)


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
    status, expires_at = assignment_state(session, assignment_id)
    if status in ("submitted", "skipped"):
        raise Conflict(f"assignment {assignment_id} is already {status}")
    if task.status != "pending":
        raise Conflict(f"task {task_id} is {task.status}; the submission was not needed")

    conn = session.connection()
    task_type = task_type_of(task.task_type)
    project_params = version_params(conn, project_id=project_id, version=task.project_version)
    clean = _validated(task_type, response, project_params, task.params)

    late = status == "expired" or expires_at <= now
    open_leases = task.open_leases - (1 if status == "leased" else 0)
    label_target = task.label_target
    if not task.is_gold and open_leases + task.n_annotations + 1 > label_target:
        label_target += 1
    gold_correct = None
    if task.is_gold:
        gold_correct = task_type.answer_key(clean) == task_type.answer_key(task.gold_answer)

    annotation_id = conn.execute(
        _INSERT_ANNOTATION,
        {
            "task_id": task_id,
            "project_id": project_id,
            "assignment_id": assignment_id,
            "worker_id": worker_id,
            "source": "human",
            "response": clean,
            "duration_ms": duration_ms,
            "gold_correct": gold_correct,
            "late": late,
            "created_at": now,
        },
    ).scalar_one()
    conn.execute(_MARK_SUBMITTED, {"a_id": assignment_id, "ended": now})
    values: dict[str, Any] = {
        "t_id": task_id,
        "new_open_leases": open_leases,
        "new_n_annotations": task.n_annotations + 1,
        "new_label_target": label_target,
        "new_updated_at": now,
        "new_confidence": None,
    }
    finished = False
    if not task.is_gold and values["new_n_annotations"] >= label_target:
        finished = _settle_answer(conn, task_id, task_type, task.max_labels, values, now)
    conn.execute(_UPDATE_COMPLETED if finished else _UPDATE_COUNTS, values)
    if finished:
        batches.settle_batch(session=session, batch_id=task.batch_id)
    return Submitted(annotation_id=annotation_id, task_id=task_id, late=late)


def _settle_answer(
    conn: Connection,
    task_id: int,
    task_type: TaskType,
    max_labels: int,
    values: dict[str, Any],
    now: datetime,
) -> bool:
    """Fill ``values`` with the completion (or a raised target). Returns whether done."""
    responses = list(conn.execute(_RESPONSES, {"t_id": task_id}).scalars())
    keys = [task_type.answer_key(r) for r in responses]
    decision = majority_decision(
        responses, keys, at_max_labels=values["new_label_target"] >= max_labels
    )
    values["new_confidence"] = decision.confidence
    if decision.complete:
        values["new_response"] = decision.response
        values["new_completed_at"] = now
        return True
    values["new_label_target"] += 1
    return False
