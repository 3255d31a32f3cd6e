"""The review stage (DESIGN.md §6): completed tasks sent to review (a share of them, and every
one under a confidence) wait for a reviewer, who accepts the answer, corrects it (the
correction becomes the answer, the old one is kept as a revision, and it counts against the
workers who were wrong) or rejects it (the task goes back for one more label). A batch is not
complete while any of its tasks waits for review.

Reviewers lease tasks like annotators (one live review per reviewer and project, expiring
after the project's lease time), never a task they annotated themselves. Lock order as in the
queue: reviewer → task → review → batch → project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from labelmill.server.errors import Conflict, ErrorDetail, InvalidInput, NotFound
from labelmill.server.models import (
    Annotation,
    AnswerRevision,
    PoolMember,
    Project,
    ProjectStaffing,
    Review,
    Task,
    User,
)
from labelmill.server.services import batches, callbacks, worker_skills
from labelmill.server.services.projects import task_type_of, version_params
from labelmill.server.services.submissions import validated_response

Decision = Literal["accept", "correct", "reject"]


@dataclass(frozen=True, slots=True)
class ReviewLease:
    review_id: int
    task_id: int
    project_id: int
    task_type: str
    data: dict[str, Any]
    """The task as its annotators saw it."""
    answer: dict[str, Any] | None
    confidence: float | None
    answers: list[dict[str, Any]]
    """Every annotation's response, in submission order (without who gave it)."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Decided:
    review_id: int
    task_id: int
    decision: str
    task_status: str
    response: dict[str, Any] | None


def _reviewer_project(session: Session, project_id: int, reviewer_id: int) -> Project:
    """The project if the caller reviews for a pool staffing it (404 otherwise); the
    reviewer's row is locked so that their concurrent requests take turns."""
    reviews_here = exists().where(
        ProjectStaffing.project_id == Project.id,
        PoolMember.pool_id == ProjectStaffing.pool_id,
        PoolMember.user_id == User.id,
        PoolMember.is_reviewer.is_(True),
    )
    row = session.execute(
        select(Project)
        .join(User, User.id == reviewer_id)
        .where(Project.id == project_id, reviews_here)
        .with_for_update(key_share=True, of=User)
    ).first()
    if row is None:
        raise NotFound("Project", project_id)
    return row[0]


def _expire_overdue(session: Session, project_id: int, now: datetime) -> None:
    """Overdue review leases give their tasks back to the review queue."""
    overdue = list(
        session.scalars(
            select(Review.task_id)
            .where(
                Review.project_id == project_id,
                Review.status == "leased",
                Review.expires_at <= now,
            )
            .order_by(Review.task_id)
        )
    )
    if not overdue:
        return
    session.execute(select(Task.id).where(Task.id.in_(overdue)).order_by(Task.id).with_for_update())
    session.execute(
        update(Review)
        .where(Review.task_id.in_(overdue), Review.status == "leased", Review.expires_at <= now)
        .values(status="expired")
    )
    session.execute(
        update(Task)
        .where(Task.id.in_(overdue), Task.review_status == "in_review")
        .values(review_status="pending")
    )


def next_review(
    *, session: Session, project_id: int, reviewer_id: int, now: datetime
) -> ReviewLease | None:
    """Lease the least confident task waiting for review (or the caller's live lease)."""
    project = _reviewer_project(session, project_id, reviewer_id)
    expires_at = now + timedelta(seconds=project.lease_seconds)
    held = session.scalar(
        select(Review).where(
            Review.reviewer_id == reviewer_id,
            Review.project_id == project_id,
            Review.status == "leased",
            Review.expires_at > now,
        )
    )
    if held is not None:
        held.expires_at = expires_at
        return _lease(session, project, held)
    _expire_overdue(session, project_id, now)
    own_work = exists().where(Annotation.task_id == Task.id, Annotation.worker_id == reviewer_id)
    candidate = (
        select(Task.id)
        .where(Task.project_id == project_id, Task.review_status == "pending", ~own_work)
        .order_by(Task.confidence.asc().nulls_first(), Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    task_id = session.scalar(
        update(Task)
        .where(Task.id == candidate)
        .values(review_status="in_review")
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    )
    if task_id is None:
        return None
    task = session.get_one(Task, task_id)
    review = Review(
        task_id=task_id,
        project_id=project_id,
        reviewer_id=reviewer_id,
        status="leased",
        old_response=task.response,
        leased_at=now,
        expires_at=expires_at,
    )
    session.add(review)
    session.flush()
    return _lease(session, project, review)


def _lease(session: Session, project: Project, review: Review) -> ReviewLease:
    task = session.get_one(Task, review.task_id)
    params = version_params(
        session.connection(), project_id=project.id, version=task.project_version
    )
    answers = list(
        session.scalars(
            select(Annotation.response).where(Annotation.task_id == task.id).order_by(Annotation.id)
        )
    )
    return ReviewLease(
        review_id=review.id,
        task_id=task.id,
        project_id=project.id,
        task_type=project.task_type,
        data=task_type_of(project.task_type).worker_view(params, task.params),
        answer=task.response,
        confidence=task.confidence,
        answers=answers,
        expires_at=review.expires_at,
    )


def decide(
    *,
    session: Session,
    review_id: int,
    reviewer_id: int,
    decision: Decision,
    response: dict[str, Any] | None,
    now: datetime,
) -> Decided:
    review = session.get(Review, review_id)
    if review is None or review.reviewer_id != reviewer_id:
        raise NotFound("Review", review_id)
    task = session.scalar(select(Task).where(Task.id == review.task_id).with_for_update())
    session.refresh(review)
    if task is None or review.status != "leased" or task.review_status != "in_review":
        raise Conflict(f"review {review_id} is no longer open ({review.status})")
    project = session.get_one(Project, task.project_id)
    task_type = task_type_of(project.task_type)
    annotations = list(
        session.execute(
            select(Annotation.worker_id, Annotation.response)
            .where(Annotation.task_id == task.id, Annotation.worker_id.is_not(None))
            .order_by(Annotation.id)
        )
    )
    old = task.response
    new: dict[str, Any] | None = old
    params = version_params(
        session.connection(), project_id=project.id, version=task.project_version
    )
    if decision == "correct":
        if response is None:
            raise InvalidInput(
                "a correction needs a response",
                details=[ErrorDetail(("response",), "required when decision is 'correct'")],
            )
        clean = validated_response(task_type, response, params, task.params)
        session.add(
            AnswerRevision(
                task_id=task.id,
                project_id=project.id,
                method="review",
                old_response=old,
                new_response=clean,
                old_confidence=task.confidence,
                new_confidence=1.0,
            )
        )
        task.response, task.confidence, task.review_status = clean, 1.0, "corrected"
        review.response = new = clean
    elif decision == "accept":
        task.review_status = "accepted"
    else:  # reject: the answer is wrong and unknown; the task asks for one more label
        task.status, task.response, task.confidence = "pending", None, None
        task.completed_at = None
        task.review_status = "rejected"
        task.label_target = task.n_annotations + task.open_leases + 1
        new = None
    task.updated_at = now
    review.status, review.decision, review.decided_at = "decided", decision, now
    if new != old:
        # Each answering worker was compared with the old answer when the task completed: a
        # correction compares them with the new one instead (the ones who were wrong lose
        # that agreement); a rejection withdraws the comparison until the task completes
        # again, when every answer is compared with the new answer.
        worker_skills.revise_agreements(
            session.connection(),
            project.id,
            worker_skills.agreement_changes(task_type, params, annotations, old, new),
            now,
        )
    session.flush()
    # The customer was called back with the answer when the task completed: a rejection
    # takes it back (Scale's recall, completed → pending), a correction changes it.
    if decision == "reject":
        callbacks.enqueue_task_event(session, [task], "recalled")
    elif decision == "correct":
        callbacks.enqueue_task_event(session, [task], "completed")
    if decision != "reject":
        batches.settle_batch(session=session, batch_id=task.batch_id)
    return Decided(review.id, task.id, decision, task.status, task.response)
