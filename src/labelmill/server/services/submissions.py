"""Submissions: validate, record, count, and complete the task when its answer is settled.

Like the queue, this runs on every annotation: statements are built once at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from labelmill.server.db.base import UtcDateTime
from labelmill.server.errors import Conflict, ErrorDetail, Forbidden, InvalidInput
from labelmill.server.models import Annotation, Assignment, Task, WorkerSkill
from labelmill.server.services import batches, callbacks, worker_skills
from labelmill.server.services.projects import task_type_of, version_params
from labelmill.server.services.queue import assignment_state, get_own_assignment, lock_task_row
from labelmill.server.services.worker_skills import QualityRules, SkillUpdate
from labelmill.tasktypes import Answer, ParamsError, TaskType

_task = cast(Table, Task.__table__)
_annotation = cast(Table, Annotation.__table__)
_assignment = cast(Table, Assignment.__table__)
_skill = cast(Table, WorkerSkill.__table__)

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
        review_status=bindparam("new_review_status"),
    )
)


@dataclass(frozen=True, slots=True)
class Submitted:
    annotation_id: int
    task_id: int
    late: bool


def validated_response(
    task_type: TaskType, raw: dict[str, Any], project_params: Any, task_params: Any
) -> dict[str, Any]:
    """``raw`` checked by its task type, or ``InvalidInput`` naming each bad field under
    ``response`` (an annotator's answer or a reviewer's correction)."""
    try:
        return task_type.validate_response(raw, project_params, task_params)
    except ParamsError as exc:
        raise InvalidInput(
            f"invalid response: {exc}",
            details=[ErrorDetail(("response", *loc), msg) for loc, msg in exc.problems],
        ) from None


@dataclass(frozen=True, slots=True)
class TaskState:
    """What a submission needs of its locked task row, its project's quality settings, its
    assignment and its worker's record in the project."""

    task_id: int
    project_id: int
    task_status: str
    is_gold: bool
    open_leases: int
    n_annotations: int
    label_target: int
    max_labels: int
    params: Any
    gold_answer: Any
    assignment_status: str
    assignment_expires_at: datetime
    worker_id: int
    worker_skill: float | None
    worker_removed: bool
    confidence_target: float
    rules: QualityRules
    review_rate: float
    review_below: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What to write for one submission: the clean response, the annotation's flags, the
    task's new counters (``values``, named as the UPDATE's bind parameters) and what it
    teaches about workers."""

    response: dict[str, Any]
    late: bool
    gold_correct: bool | None
    values: dict[str, Any]
    finished: bool
    skills: SkillUpdate | None


def plan_submission(
    *,
    state: TaskState,
    assignment_id: int,
    task_type: TaskType,
    project_params: Any,
    raw_response: dict[str, Any],
    earlier_answers: Callable[[], list[Answer]],
    worker_biases: Callable[[list[int]], worker_skills.Biases],
    review_roll: float,
    now: datetime,
) -> Plan:
    """The rules of a submission, the same on every database; the caller has locked the
    task row and reads/writes in one transaction.

    A submission on an expired lease is accepted while the task is pending: the work was
    done and is paid. If the slot it held was meanwhile given to someone else, the task's
    label target grows by one so that leases + annotations never exceed it (invariant 2).

    Dynamic overlap (DESIGN.md §6): once a task has its target number of answers, its type's
    aggregator weighs them by the workers' skills; the task completes when the answer's
    confidence reaches the project's target or at ``max_labels``, and otherwise its target
    grows by one. ``earlier_answers`` (in submission order) is called only then, and, for a
    type that corrects worker bias (ratings), ``worker_biases`` with the answering workers.
    A task that completes goes to review when its confidence is under the project's
    ``review_below`` or when ``review_roll`` (uniform in [0, 1)) falls under its
    ``review_rate``.
    """
    if state.worker_removed:
        raise Forbidden("you were removed from this project by its quality rules")
    if state.assignment_status in ("submitted", "skipped"):
        raise Conflict(f"assignment {assignment_id} is already {state.assignment_status}")
    if state.task_status != "pending":
        raise Conflict(
            f"task {state.task_id} is {state.task_status}; the submission was not needed"
        )
    clean = validated_response(task_type, raw_response, project_params, state.params)
    late = state.assignment_status == "expired" or state.assignment_expires_at <= now
    open_leases = state.open_leases - (1 if state.assignment_status == "leased" else 0)
    label_target = state.label_target
    if not state.is_gold and open_leases + state.n_annotations + 1 > label_target:
        label_target += 1
    gold_correct = None
    if state.is_gold:
        gold_correct = task_type.agrees(clean, state.gold_answer, project_params=project_params)
    values: dict[str, Any] = {
        "t_id": state.task_id,
        "new_open_leases": open_leases,
        "new_n_annotations": state.n_annotations + 1,
        "new_label_target": label_target,
        "new_updated_at": now,
        "new_confidence": None,
        "new_response": None,
        "new_completed_at": None,
        "new_review_status": None,
    }
    agreements: list[tuple[int, bool]] = []
    finished = False
    if not state.is_gold and values["new_n_annotations"] >= label_target:
        answers = [*earlier_answers(), Answer(state.worker_id, clean, state.worker_skill)]
        if task_type.corrects_worker_bias:
            biases = worker_biases(sorted({a.worker_id for a in answers if a.worker_id}))
            answers = [
                replace(a, bias=biases.get(a.worker_id)) if a.worker_id in biases else a
                for a in answers
            ]
        settlement = task_type.settle(
            answers,
            project_params=project_params,
            task_params=state.params,
            confidence_target=state.confidence_target,
            at_max_labels=label_target >= state.max_labels,
        )
        values["new_confidence"] = settlement.confidence
        if settlement.complete and settlement.response is not None:
            finished = True
            values["new_response"] = settlement.response
            values["new_completed_at"] = now
            if settlement.confidence < state.review_below or review_roll < state.review_rate:
                values["new_review_status"] = "pending"
            final = settlement.response
            agreements = [
                (a.worker_id, task_type.agrees(a.response, final, project_params=project_params))
                for a in answers
                if a.worker_id is not None
            ]
        else:
            values["new_label_target"] += 1
    skills = None
    if gold_correct is not None or agreements:
        skills = SkillUpdate(
            project_id=state.project_id,
            worker_id=state.worker_id,
            assignment_id=assignment_id,
            gold_correct=gold_correct,
            agreements=agreements,
        )
    return Plan(clean, late, gold_correct, values, finished, skills)


_OWN_RECORD = select(_skill.c.skill, _skill.c.removed_at).where(
    _skill.c.project_id == bindparam("p_id"), _skill.c.worker_id == bindparam("w_id")
)
_ANSWERS = (
    select(_annotation.c.worker_id, _annotation.c.response, _skill.c.skill)
    .outerjoin(
        _skill,
        (_skill.c.project_id == _annotation.c.project_id)
        & (_skill.c.worker_id == _annotation.c.worker_id),
    )
    .where(_annotation.c.task_id == bindparam("t_id"))
    .order_by(_annotation.c.id)
)


def submit(
    *,
    session: Session,
    assignment_id: int,
    worker_id: int,
    response: dict[str, Any],
    duration_ms: int | None,
    now: datetime,
    review_roll: float = 1.0,
) -> Submitted:
    """Record the worker's answer (see ``plan_submission`` for the rules; the default roll
    sends nothing to review by chance)."""
    task_id, project_id = get_own_assignment(
        session=session, assignment_id=assignment_id, worker_id=worker_id
    )
    task = lock_task_row(session, task_id)
    status, expires_at = assignment_state(session, assignment_id)
    conn = session.connection()
    own = conn.execute(_OWN_RECORD, {"p_id": project_id, "w_id": worker_id}).first()
    rules = QualityRules(task.skill_threshold, task.min_gold_answers)
    state = TaskState(
        task_id=task_id,
        project_id=project_id,
        task_status=task.status,
        is_gold=task.is_gold,
        open_leases=task.open_leases,
        n_annotations=task.n_annotations,
        label_target=task.label_target,
        max_labels=task.max_labels,
        params=task.params,
        gold_answer=task.gold_answer,
        assignment_status=status,
        assignment_expires_at=expires_at,
        worker_id=worker_id,
        worker_skill=None if own is None else own[0],
        worker_removed=own is not None and own[1] is not None,
        confidence_target=task.confidence_target,
        rules=rules,
        review_rate=task.review_rate,
        review_below=task.review_below,
    )
    plan = plan_submission(
        state=state,
        assignment_id=assignment_id,
        task_type=task_type_of(task.task_type),
        project_params=version_params(conn, project_id=project_id, version=task.project_version),
        raw_response=response,
        earlier_answers=lambda: [
            Answer(w, r, s) for w, r, s in conn.execute(_ANSWERS, {"t_id": task_id})
        ],
        worker_biases=lambda ids: worker_skills.rating_biases(conn, project_id, ids),
        review_roll=review_roll,
        now=now,
    )
    annotation_id = conn.execute(
        _INSERT_ANNOTATION,
        {
            "task_id": task_id,
            "project_id": project_id,
            "assignment_id": assignment_id,
            "worker_id": worker_id,
            "source": "human",
            "response": plan.response,
            "duration_ms": duration_ms,
            "gold_correct": plan.gold_correct,
            "late": plan.late,
            "created_at": now,
        },
    ).scalar_one()
    conn.execute(_MARK_SUBMITTED, {"a_id": assignment_id, "ended": now})
    conn.execute(_UPDATE_COMPLETED if plan.finished else _UPDATE_COUNTS, plan.values)
    if plan.skills is not None:
        worker_skills.run(conn, plan.skills, rules, now)
    if plan.finished:
        callbacks.enqueue_task_event(session, [task_id], "completed")
        batches.settle_batch(session=session, batch_id=task.batch_id)
    return Submitted(annotation_id=annotation_id, task_id=task_id, late=plan.late)
