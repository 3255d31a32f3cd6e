"""Worker skill per project (DESIGN.md §6): gold answers and agreement with completed answers
feed an estimated accuracy that weights the worker's next answers; a worker whose gold
accuracy falls below the project's threshold is removed from the project.

Agreement is counted once per task and worker, against the task's *current* answer: when a
reviewer or a re-aggregation changes that answer, :func:`revise_agreements` moves each
worker's comparison from the old answer to the new one (a worker who gave the replaced answer
loses the agreement, one who gave the new answer gains it).

The statements here run in the transaction of the submission that causes them, on either
database, through SQLAlchemy (``run``) or, on the PostgreSQL hot path, the driver connection
(``run_driver``): the SQL is written once, in SQLAlchemy's ``:name`` style, and compiled for
psycopg once at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from labelmill.quality.stopping import DEFAULT_SKILL, SKILL_PRIOR_STRENGTH
from labelmill.server.db.base import JsonType
from labelmill.tasktypes.base import TaskType

# The skill is ``quality.shrunk_skill(correct, total)``: (correct + prior·m) / (total + m).
_PRIOR = {"prior_weight": DEFAULT_SKILL * SKILL_PRIOR_STRENGTH, "strength": SKILL_PRIOR_STRENGTH}

_RECORD = text(
    """
    INSERT INTO worker_skill (project_id, worker_id, gold_answers, gold_correct, compared,
                              agreed, skill, updated_at)
    VALUES (:project_id, :worker_id, :gold_answers, :gold_correct, :compared, :agreed,
            (:gold_correct + :agreed + :prior_weight)
            / (:gold_answers + :compared + :strength), :now)
    ON CONFLICT (project_id, worker_id) DO UPDATE SET
        gold_answers = worker_skill.gold_answers + excluded.gold_answers,
        gold_correct = worker_skill.gold_correct + excluded.gold_correct,
        compared = worker_skill.compared + excluded.compared,
        agreed = worker_skill.agreed + excluded.agreed,
        skill = (worker_skill.gold_correct + excluded.gold_correct
                 + worker_skill.agreed + excluded.agreed + :prior_weight)
                / (worker_skill.gold_answers + excluded.gold_answers
                   + worker_skill.compared + excluded.compared + :strength),
        updated_at = excluded.updated_at
    RETURNING gold_answers, gold_correct
    """
)
_REMOVE = text(
    """
    UPDATE worker_skill SET removed_at = :now
     WHERE project_id = :project_id AND worker_id = :worker_id AND removed_at IS NULL
    """
)
_RELEASE_LEASES = text(
    """
    UPDATE assignment SET status = 'expired', ended_at = :now
     WHERE project_id = :project_id AND worker_id = :worker_id AND status = 'leased'
       AND id <> :keep_assignment_id
    RETURNING task_id
    """
)
_FREE_SLOT = text("UPDATE task SET open_leases = open_leases - 1 WHERE id = :task_id")


_RATING_BIAS = (
    text(
        "SELECT worker_id, rating_bias FROM worker_skill"
        " WHERE project_id = :project_id AND worker_id IN :worker_ids"
    )
    .bindparams(bindparam("worker_ids", expanding=True))
    .columns(worker_id=Integer, rating_bias=JsonType)
)
_RATING_BIAS_DRIVER = (
    "SELECT worker_id, rating_bias FROM worker_skill WHERE project_id = %s AND worker_id = ANY(%s)"
)
_SET_RATING_BIAS = text(
    "UPDATE worker_skill SET rating_bias = :bias"
    " WHERE project_id = :project_id AND worker_id = :worker_id"
).bindparams(bindparam("bias", type_=JsonType))


def _for_driver(statement: TextClause) -> str:
    return str(statement.compile(dialect=psycopg_dialect()))  # type: ignore[no-untyped-call]


_DRIVER_SQL = {s: _for_driver(s) for s in (_RECORD, _REMOVE, _RELEASE_LEASES, _FREE_SLOT)}


@dataclass(frozen=True, slots=True)
class QualityRules:
    """A project's rules for removing workers."""

    skill_threshold: float
    min_gold_answers: int


@dataclass(frozen=True, slots=True)
class SkillUpdate:
    """What one submission teaches about workers."""

    project_id: int
    worker_id: int
    assignment_id: int
    gold_correct: bool | None
    """For a gold task: whether the answer matched the known one."""
    agreements: Sequence[tuple[int, bool]]
    """When the task completed: each answering worker and whether they gave the answer."""


@dataclass(frozen=True, slots=True)
class AgreementChange:
    """One answering worker of a task whose answer changed."""

    worker_id: int
    agreed_before: bool | None
    """Whether they gave the replaced answer; None when the task had no answer to compare."""
    agrees_now: bool | None
    """Whether they gave the new answer; None when the task has no answer any more."""


def should_remove(rules: QualityRules, gold_answers: int, gold_correct: int) -> bool:
    return (
        rules.skill_threshold > 0
        and gold_answers >= rules.min_gold_answers
        and gold_correct < rules.skill_threshold * gold_answers
    )


class _Executor:
    """Runs the module's statements on a SQLAlchemy or a psycopg connection."""

    def __init__(self, conn: Any, driver: bool) -> None:
        self.conn = conn
        self.driver = driver

    def rows(self, statement: TextClause, params: dict[str, Any]) -> list[Any]:
        if self.driver:
            return list(self.conn.execute(_DRIVER_SQL[statement], params, prepare=True))
        return list(self.conn.execute(statement, params))

    def execute(self, statement: TextClause, params: dict[str, Any]) -> None:
        if self.driver:
            self.conn.execute(_DRIVER_SQL[statement], params, prepare=True)
        else:
            self.conn.execute(statement, params)

    def many(self, statement: TextClause, params: list[dict[str, Any]]) -> None:
        if self.driver:
            with self.conn.cursor() as cursor:
                cursor.executemany(_DRIVER_SQL[statement], params)
        else:
            self.conn.execute(statement, params)


def run(conn: Connection, update: SkillUpdate, rules: QualityRules, now: datetime) -> bool:
    """Apply ``update`` through SQLAlchemy. Returns whether the worker was removed."""
    return _apply(_Executor(conn, driver=False), update, rules, now)


def run_driver(conn: Any, update: SkillUpdate, rules: QualityRules, now: datetime) -> bool:
    """Apply ``update`` on a psycopg connection (the PostgreSQL hot path)."""
    return _apply(_Executor(conn, driver=True), update, rules, now)


def _record(worker_id: int, project_id: int, now: datetime, **counts: int) -> dict[str, Any]:
    base = {"gold_answers": 0, "gold_correct": 0, "compared": 0, "agreed": 0}
    where = {"project_id": project_id, "worker_id": worker_id, "now": now}
    return {**base, **counts, **_PRIOR, **where}


def _apply(run_sql: _Executor, update: SkillUpdate, rules: QualityRules, now: datetime) -> bool:
    removed = False
    if update.gold_correct is not None:
        ((gold_answers, gold_correct),) = run_sql.rows(
            _RECORD,
            _record(
                update.worker_id,
                update.project_id,
                now,
                gold_answers=1,
                gold_correct=int(update.gold_correct),
            ),
        )
        if should_remove(rules, int(gold_answers), int(gold_correct)):
            removed = _remove(run_sql, update, now)
    if update.agreements:
        # One row per worker, in worker-id order: two completions sharing workers then lock
        # their rows in the same order and cannot deadlock.
        run_sql.many(
            _RECORD,
            [
                _record(worker, update.project_id, now, compared=1, agreed=int(agreed))
                for worker, agreed in sorted(dict(update.agreements).items())
            ],
        )
    return removed


def revise_agreements(
    conn: Connection, project_id: int, changes: Sequence[AgreementChange], now: datetime
) -> None:
    """Move the workers' comparisons from a task's old answer to its new one (see the module
    docstring), in worker-id order like every other skill update."""
    records = []
    for change in sorted(changes, key=lambda c: c.worker_id):
        compared = int(change.agrees_now is not None) - int(change.agreed_before is not None)
        agreed = int(bool(change.agrees_now)) - int(bool(change.agreed_before))
        if compared or agreed:
            records.append(
                _record(change.worker_id, project_id, now, compared=compared, agreed=agreed)
            )
    if records:
        _Executor(conn, driver=False).many(_RECORD, records)


def agreement_changes(
    task_type: TaskType,
    params: dict[str, Any],
    annotations: Sequence[tuple[int, dict[str, Any]]],
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> list[AgreementChange]:
    """How each ``(worker, response)`` compared with a task's old answer and its new one."""

    def agrees(response: dict[str, Any], answer: dict[str, Any] | None) -> bool | None:
        if answer is None:
            return None
        return task_type.agrees(response, answer, project_params=params)

    return [AgreementChange(w, agrees(r, old), agrees(r, new)) for w, r in annotations]


def _remove(run_sql: _Executor, update: SkillUpdate, now: datetime) -> bool:
    """Remove the worker from the project and give back the slots of their other leases
    there (the current one is being submitted)."""
    keys = {"project_id": update.project_id, "worker_id": update.worker_id, "now": now}
    run_sql.execute(_REMOVE, keys)
    released = run_sql.rows(_RELEASE_LEASES, {**keys, "keep_assignment_id": update.assignment_id})
    for (task_id,) in sorted(released):
        run_sql.execute(_FREE_SLOT, {"task_id": task_id})
    return True


Biases = dict[int, dict[str, float]]


def rating_biases(conn: Connection, project_id: int, worker_ids: Sequence[int]) -> Biases:
    """The stored rating bias of each of ``worker_ids`` that has one (SQLAlchemy)."""
    if not worker_ids:
        return {}
    rows = conn.execute(_RATING_BIAS, {"project_id": project_id, "worker_ids": list(worker_ids)})
    return {int(w): dict(b) for w, b in rows if b}


def rating_biases_driver(conn: Any, project_id: int, worker_ids: Sequence[int]) -> Biases:
    """:func:`rating_biases` on a psycopg connection (the PostgreSQL hot path)."""
    if not worker_ids:
        return {}
    rows = conn.execute(_RATING_BIAS_DRIVER, (project_id, list(worker_ids)), prepare=True)
    return {int(w): dict(b) for w, b in rows if b}


def store_rating_biases(conn: Connection, project_id: int, biases: Biases) -> None:
    """Replace the stored rating bias of the workers in ``biases`` (workers without a skill
    record, who never answered a completed task, have nothing to correct)."""
    if biases:
        conn.execute(
            _SET_RATING_BIAS,
            [
                {"project_id": project_id, "worker_id": w, "bias": bias}
                for w, bias in sorted(biases.items())
            ],
        )


def project_skills(conn: Connection, project_id: int) -> list[Any]:
    """Every worker's record in the project, by worker id."""
    return list(
        conn.execute(
            text(
                "SELECT worker_id, gold_answers, gold_correct, compared, agreed, skill,"
                " removed_at FROM worker_skill WHERE project_id = :p ORDER BY worker_id"
            ),
            {"p": project_id},
        )
    )
