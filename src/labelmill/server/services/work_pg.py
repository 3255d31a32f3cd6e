"""The annotation loop on PostgreSQL: one database call per ``next task``, two per ``submit``.

The rules are those of ``queue.py`` and ``submissions.py``: leasing runs inside the
``labelmill_next_task`` function (migrations 0002 and 0003, a statement-for-statement copy of
``queue.next_task``); a submission locks and reads through ``labelmill_submit_begin`` (0002,
0003, 0005), is validated and decided by ``submissions.plan_submission`` (shared with every
database), and is written by one statement, all in one transaction. Going through the driver
connection rather than SQLAlchemy matters here: measured, each SQLAlchemy statement cost
~0.2 ms of CPU and a round trip against ~0.05 ms for a prepared statement on psycopg, and the
loop runs thousands of them a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from labelmill.server.db.engine import Database
from labelmill.server.errors import Conflict, Forbidden, NotFound, Unauthenticated
from labelmill.server.policies import NOT_A_PERSON
from labelmill.server.services import batches, worker_skills
from labelmill.server.services.auth import NO_LONGER_A_MEMBER, UNKNOWN_KEY, hash_key
from labelmill.server.services.callbacks import DEFAULT_MAX_ATTEMPTS, TASK_CALLBACK_KIND
from labelmill.server.services.projects import cached_version_params, task_type_of
from labelmill.server.services.queue import Lease
from labelmill.server.services.submissions import Submitted, TaskState, plan_submission
from labelmill.server.services.worker_skills import QualityRules
from labelmill.tasktypes import Answer

_BIGINT_MAX = 2**63 - 1

_NEXT_TASK = "SELECT * FROM labelmill_next_task(%s, %s, %s, %s)"
_SUBMIT_BEGIN = "SELECT * FROM labelmill_submit_begin(%s, %s)"
_VERSION_PARAMS = "SELECT params FROM project_version WHERE project_id = %s AND version = %s"
_ANSWERS = """
SELECT n.worker_id, n.response, ws.skill
  FROM annotation n
  LEFT JOIN worker_skill ws ON ws.project_id = n.project_id AND ws.worker_id = n.worker_id
 WHERE n.task_id = %s
 ORDER BY n.id
"""
# The annotation, the assignment and the task's counters (and answer, when it is settled) in
# one statement, with the task's ``completed`` callback job when it completes and has a
# callback URL (the outbox row of ``callbacks.enqueue_task_event``, in the same transaction);
# it also answers whether the task's batch may now be finished (the other regular tasks of
# the batch are neither pending nor waiting for review), so that the caller settles it.
_SUBMIT_WRITE = f"""
WITH new_annotation AS (
    INSERT INTO annotation (task_id, project_id, assignment_id, worker_id, source, response,
                            duration_ms, gold_correct, late, created_at)
    VALUES (%(t_id)s, %(project_id)s, %(a_id)s, %(worker_id)s, 'human', %(response)s,
            %(duration_ms)s, %(gold_correct)s, %(late)s, %(new_updated_at)s)
    RETURNING id),
submitted AS (
    UPDATE assignment SET status = 'submitted', ended_at = %(new_updated_at)s
     WHERE id = %(a_id)s),
counted AS (
    UPDATE task
       SET open_leases = %(new_open_leases)s,
           n_annotations = %(new_n_annotations)s,
           label_target = %(new_label_target)s,
           updated_at = %(new_updated_at)s,
           confidence = %(new_confidence)s,
           status = CASE WHEN %(finished)s THEN 'completed' ELSE status END,
           response = CASE WHEN %(finished)s THEN %(new_response)s ELSE response END,
           completed_at = CASE WHEN %(finished)s THEN %(new_updated_at)s ELSE completed_at END,
           review_status = CASE WHEN %(finished)s THEN %(new_review_status)s
                                ELSE review_status END
     WHERE id = %(t_id)s),
callback AS (
    INSERT INTO job (kind, org_id, payload, status, attempts, max_attempts, run_after,
                     created_at)
    SELECT '{TASK_CALLBACK_KIND}', t.org_id,
           jsonb_build_object('task_id', t.id, 'event', 'completed'),
           'pending', 0, {DEFAULT_MAX_ATTEMPTS}, %(new_updated_at)s,
           %(new_updated_at)s
      FROM task t
     WHERE %(finished)s AND t.id = %(t_id)s AND t.callback_url IS NOT NULL)
SELECT id, %(finished)s AND %(new_review_status)s IS NULL AND NOT EXISTS (
           SELECT 1 FROM task t
            WHERE t.batch_id = %(batch_id)s AND NOT t.is_gold AND t.id <> %(t_id)s
              AND (t.status = 'pending' OR t.review_status IN ('pending', 'in_review')))
  FROM new_annotation
"""


def _refuse(outcome: str, kind: str, object_id: int) -> None:
    """Turn a work-loop function's outcome into the error the Python path raises."""
    if outcome == "unauthenticated":
        raise Unauthenticated(UNKNOWN_KEY)
    if outcome == "not_member":
        raise Unauthenticated(NO_LONGER_A_MEMBER)
    if outcome == "not_a_person":
        raise Forbidden(NOT_A_PERSON)
    if outcome == "not_found":
        raise NotFound(kind, object_id)


def _project_params(conn: psycopg.Connection[Any], project_id: int, version: int) -> Any:
    def load() -> Any:
        row = conn.execute(_VERSION_PARAMS, (project_id, version), prepare=True).fetchone()
        return None if row is None else row[0]

    return cached_version_params(project_id, version, load)


def lease_next(
    db: Database, *, secret: str, project_id: int, now: datetime, gold_roll: float
) -> Lease | None:
    """``queue.next_task`` for the holder of ``secret``, in one autocommitted call."""
    if not 0 < project_id <= _BIGINT_MAX:
        raise NotFound("Project", project_id)
    with db.driver_connection() as conn:
        conn.autocommit = True
        try:
            try:
                row = conn.execute(
                    _NEXT_TASK, (hash_key(secret), project_id, now, gold_roll), prepare=True
                ).fetchone()
            except psycopg.errors.UniqueViolation:
                raise Conflict("a concurrent request of this worker leased the same task") from None
            assert row is not None
            outcome, assignment_id, task_id, task_params, version, task_type, expires_at = row
            _refuse(outcome, "Project", project_id)
            if outcome == "none":
                return None
            project_params = _project_params(conn, project_id, version)
        finally:
            conn.autocommit = False
    return Lease(
        assignment_id=assignment_id,
        task_id=task_id,
        project_id=project_id,
        task_type=task_type,
        data=task_type_of(task_type).worker_view(project_params, task_params),
        expires_at=expires_at.astimezone(UTC),
    )


def submit(
    db: Database,
    *,
    secret: str,
    assignment_id: int,
    response: dict[str, Any],
    duration_ms: int | None,
    now: datetime,
    review_roll: float,
) -> Submitted:
    """``submissions.submit`` for the holder of ``secret``: lock and read, decide, write."""
    if not 0 < assignment_id <= _BIGINT_MAX:
        raise NotFound("Assignment", assignment_id)
    with db.driver_connection() as conn:
        try:
            row = conn.execute(
                _SUBMIT_BEGIN, (hash_key(secret), assignment_id), prepare=True
            ).fetchone()
            assert row is not None
            _refuse(row[0], "Assignment", assignment_id)
            (
                _outcome,
                worker_id,
                task_id,
                project_id,
                assignment_status,
                expires_at,
                task_status,
                is_gold,
                open_leases,
                n_annotations,
                label_target,
                batch_id,
                version,
                task_params,
                gold_answer,
                project,
                worker_skill,
                worker_removed,
                earlier,
            ) = row
            rules = QualityRules(project["skill_threshold"], project["min_gold_answers"])
            state = TaskState(
                task_id=task_id,
                project_id=project_id,
                task_status=task_status,
                is_gold=is_gold,
                open_leases=open_leases,
                n_annotations=n_annotations,
                label_target=label_target,
                max_labels=project["max_labels"],
                params=task_params,
                gold_answer=gold_answer,
                assignment_status=assignment_status,
                assignment_expires_at=expires_at,
                worker_id=worker_id,
                worker_skill=worker_skill,
                worker_removed=worker_removed,
                confidence_target=project["confidence_target"],
                rules=rules,
                review_rate=project["review_rate"],
                review_below=project["review_below"],
            )

            def earlier_answers() -> list[Answer]:
                rows = earlier
                if rows is None:
                    rows = [list(r) for r in conn.execute(_ANSWERS, (task_id,), prepare=True)]
                return [Answer(w, r, s) for w, r, s in rows]

            plan = plan_submission(
                state=state,
                assignment_id=assignment_id,
                task_type=task_type_of(project["task_type"]),
                project_params=_project_params(conn, project_id, version),
                raw_response=response,
                earlier_answers=earlier_answers,
                worker_biases=lambda ids: worker_skills.rating_biases_driver(conn, project_id, ids),
                review_roll=review_roll,
                now=now,
            )
            values = {
                **plan.values,
                "new_response": Jsonb(plan.values["new_response"]) if plan.finished else None,
                "project_id": project_id,
                "a_id": assignment_id,
                "worker_id": worker_id,
                "response": Jsonb(plan.response),
                "duration_ms": duration_ms,
                "gold_correct": plan.gold_correct,
                "late": plan.late,
                "finished": plan.finished,
                "batch_id": batch_id,
            }
            written = conn.execute(_SUBMIT_WRITE, values, prepare=True).fetchone()
            if plan.skills is not None:
                worker_skills.run_driver(conn, plan.skills, rules, now)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    assert written is not None
    annotation_id, batch_may_be_finished = written
    if batch_may_be_finished:
        with db.write_session() as session:
            batches.settle_batch(session=session, batch_id=batch_id)
    return Submitted(annotation_id=annotation_id, task_id=task_id, late=plan.late)
