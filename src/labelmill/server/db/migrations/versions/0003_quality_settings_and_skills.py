"""Quality settings, worker skill, and the work-loop functions that use them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:10:00

Projects gain ``confidence_target`` (dynamic overlap), ``skill_threshold`` and
``min_gold_answers`` (removal of workers below a gold accuracy); ``worker_skill`` keeps each
worker's record per project. On PostgreSQL the two work-loop functions of 0002 are replaced:
a removed worker gets no task, and a submission reads the project's quality settings, whether
its worker was removed, and the earlier answers with their workers' skills. (Migrations are
snapshots, so the functions are written out here in full rather than shared with 0002.)
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import labelmill.server.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Outcomes as in 0002: 'unauthenticated', 'not_member', 'not_a_person', 'not_found',
# 'none', 'ok'.
_AUTHENTICATE_WORKER = """
    SELECT k.user_id, (k.org_id IS NULL OR k.user_id IS NULL OR m.id IS NOT NULL)
      INTO v_worker, v_member_ok
      FROM api_key k
      LEFT JOIN membership m ON m.org_id = k.org_id AND m.user_id = k.user_id
     WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
    IF NOT FOUND THEN
        o_outcome := 'unauthenticated'; RETURN NEXT; RETURN;
    END IF;
    IF NOT v_member_ok THEN
        o_outcome := 'not_member'; RETURN NEXT; RETURN;
    END IF;
    IF v_worker IS NULL THEN
        o_outcome := 'not_a_person'; RETURN NEXT; RETURN;
    END IF;
"""

_TAKE_SLOT = """
    UPDATE task SET open_leases = open_leases + 1
     WHERE id = (
        SELECT t.id FROM task t
         WHERE t.project_id = p_project_id AND t.is_gold = {gold} AND t.status = 'pending'
           AND t.batch_id IN (SELECT b.id FROM batch b
                               WHERE b.project_id = p_project_id AND b.status = 'in_progress')
           AND NOT EXISTS (SELECT 1 FROM assignment a
                            WHERE a.task_id = t.id AND a.worker_id = v_worker)
           {slots}
         ORDER BY t.priority DESC, t.al_score DESC, t.n_annotations DESC, t.id
         LIMIT 1
           FOR UPDATE OF t SKIP LOCKED)
    RETURNING id, params, project_version INTO v_task, v_params, v_version;
"""
_REGULAR_SLOTS = "AND t.open_leases + t.n_annotations < t.label_target"

NEXT_TASK = f"""
CREATE FUNCTION labelmill_next_task(
    p_key_hash text, p_project_id bigint, p_now timestamptz, p_gold_roll double precision)
RETURNS TABLE (o_outcome text, o_assignment_id bigint, o_task_id bigint, o_params jsonb,
               o_project_version integer, o_task_type text, o_expires_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_worker bigint;
    v_member_ok boolean;
    v_gold_rate double precision;
    v_lease_seconds integer;
    v_task bigint;
    v_params jsonb;
    v_version integer;
    v_freed integer;
    v_attempt integer;
BEGIN
    {_AUTHENTICATE_WORKER}

    -- The project, if the worker is an annotator in a pool staffing it; the worker's row is
    -- locked so that concurrent requests of one worker take turns (queue.work_project).
    SELECT p.task_type, p.gold_rate, p.lease_seconds
      INTO o_task_type, v_gold_rate, v_lease_seconds
      FROM user_account u JOIN project p ON p.id = p_project_id
     WHERE u.id = v_worker
       AND EXISTS (SELECT 1 FROM project_staffing s
                     JOIN pool_member pm ON pm.pool_id = s.pool_id
                    WHERE s.project_id = p.id AND pm.user_id = u.id AND pm.is_annotator)
       AND NOT EXISTS (SELECT 1 FROM worker_skill ws
                        WHERE ws.project_id = p.id AND ws.worker_id = u.id
                          AND ws.removed_at IS NOT NULL)
       FOR NO KEY UPDATE OF u;
    IF NOT FOUND THEN
        o_outcome := 'not_found'; RETURN NEXT; RETURN;
    END IF;
    o_expires_at := p_now + make_interval(secs => v_lease_seconds);

    -- A live lease in this project is handed back, renewed.
    SELECT a.id, t.id, t.params, t.project_version
      INTO o_assignment_id, o_task_id, o_params, o_project_version
      FROM assignment a JOIN task t ON t.id = a.task_id
     WHERE a.worker_id = v_worker AND a.project_id = p_project_id
       AND a.status = 'leased' AND a.expires_at > p_now
     LIMIT 1;
    IF FOUND THEN
        UPDATE assignment SET expires_at = o_expires_at WHERE id = o_assignment_id;
        o_outcome := 'ok'; RETURN NEXT; RETURN;
    END IF;

    FOR v_attempt IN 1..2 LOOP
        v_task := NULL;
        IF p_gold_roll < v_gold_rate THEN
            {_TAKE_SLOT.format(gold="true", slots="")}
            IF v_task IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM task t
                 WHERE t.project_id = p_project_id AND NOT t.is_gold AND t.status = 'pending'
                   AND t.batch_id IN (SELECT b.id FROM batch b
                                       WHERE b.project_id = p_project_id
                                         AND b.status = 'in_progress')
                   AND NOT EXISTS (SELECT 1 FROM assignment a
                                    WHERE a.task_id = t.id AND a.worker_id = v_worker)
                   AND {_REGULAR_SLOTS.removeprefix("AND ")}) THEN
                -- Gold only while regular work remains: give the slot back.
                UPDATE task SET open_leases = open_leases - 1 WHERE id = v_task;
                v_task := NULL;
            END IF;
        END IF;
        IF v_task IS NULL THEN
            {_TAKE_SLOT.format(gold="false", slots=_REGULAR_SLOTS)}
        END IF;
        EXIT WHEN v_task IS NOT NULL OR v_attempt = 2;

        -- Nothing eligible: expire this project's overdue leases (task rows locked in id
        -- order first, as queue.expire_leases does) and look once more if any were freed.
        PERFORM 1 FROM task
         WHERE id IN (SELECT a.task_id FROM assignment a
                       WHERE a.project_id = p_project_id AND a.status = 'leased'
                         AND a.expires_at <= p_now
                       LIMIT 5000)
         ORDER BY id FOR UPDATE;
        WITH expired AS (
            UPDATE assignment a SET status = 'expired', ended_at = p_now
             WHERE a.project_id = p_project_id AND a.status = 'leased'
               AND a.expires_at <= p_now
            RETURNING a.task_id),
        freed AS (SELECT task_id, count(*) AS n FROM expired GROUP BY task_id)
        UPDATE task t SET open_leases = t.open_leases - freed.n
          FROM freed WHERE t.id = freed.task_id;
        GET DIAGNOSTICS v_freed = ROW_COUNT;
        EXIT WHEN v_freed = 0;
    END LOOP;
    IF v_task IS NULL THEN
        o_outcome := 'none'; RETURN NEXT; RETURN;
    END IF;

    INSERT INTO assignment (task_id, project_id, worker_id, status, leased_at, expires_at)
    VALUES (v_task, p_project_id, v_worker, 'leased', p_now, o_expires_at)
    RETURNING id INTO o_assignment_id;
    o_task_id := v_task;
    o_params := v_params;
    o_project_version := v_version;
    o_outcome := 'ok';
    RETURN NEXT;
END
$fn$;
"""

SUBMIT_BEGIN = f"""
CREATE FUNCTION labelmill_submit_begin(p_key_hash text, p_assignment_id bigint)
RETURNS TABLE (o_outcome text, o_worker_id bigint, o_task_id bigint, o_project_id bigint,
               o_assignment_status text, o_expires_at timestamptz, o_task_status text,
               o_is_gold boolean, o_open_leases integer, o_n_annotations integer,
               o_label_target integer, o_batch_id bigint, o_project_version integer,
               o_params jsonb, o_gold_answer jsonb, o_task_type text, o_max_labels integer,
               o_confidence_target double precision, o_skill_threshold double precision,
               o_min_gold_answers integer, o_worker_skill double precision,
               o_worker_removed boolean, o_responses jsonb)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_worker bigint;
    v_member_ok boolean;
    v_owner bigint;
BEGIN
    {_AUTHENTICATE_WORKER}
    o_worker_id := v_worker;

    SELECT a.task_id, a.project_id, a.worker_id INTO o_task_id, o_project_id, v_owner
      FROM assignment a WHERE a.id = p_assignment_id;
    IF NOT FOUND OR v_owner <> v_worker THEN
        o_outcome := 'not_found'; RETURN NEXT; RETURN;
    END IF;

    SELECT t.status, t.is_gold, t.open_leases, t.n_annotations, t.label_target, t.batch_id,
           t.project_version, t.params, t.gold_answer, p.task_type, p.max_labels,
           p.confidence_target, p.skill_threshold, p.min_gold_answers
      INTO o_task_status, o_is_gold, o_open_leases, o_n_annotations, o_label_target,
           o_batch_id, o_project_version, o_params, o_gold_answer, o_task_type, o_max_labels,
           o_confidence_target, o_skill_threshold, o_min_gold_answers
      FROM task t JOIN project p ON p.id = t.project_id
     WHERE t.id = o_task_id
       FOR UPDATE OF t;

    -- Read after the task lock: the sweeper may have expired the lease meanwhile.
    SELECT a.status, a.expires_at INTO o_assignment_status, o_expires_at
      FROM assignment a WHERE a.id = p_assignment_id;
    SELECT ws.skill, ws.removed_at IS NOT NULL INTO o_worker_skill, o_worker_removed
      FROM worker_skill ws WHERE ws.project_id = o_project_id AND ws.worker_id = v_worker;
    o_worker_removed := coalesce(o_worker_removed, false);

    IF o_task_status = 'pending' AND NOT o_is_gold
       AND o_n_annotations + 1 >= o_label_target THEN
        -- This answer may settle the task: the caller needs the earlier ones, each with its
        -- worker and the worker's skill, as [worker_id, response, skill] in answer order.
        SELECT coalesce(jsonb_agg(jsonb_build_array(n.worker_id, n.response, ws.skill)
                                  ORDER BY n.id), '[]'::jsonb)
          INTO o_responses
          FROM annotation n
          LEFT JOIN worker_skill ws
                 ON ws.project_id = n.project_id AND ws.worker_id = n.worker_id
         WHERE n.task_id = o_task_id;
    END IF;
    o_outcome := 'ok';
    RETURN NEXT;
END
$fn$;
"""


_OLD_SIGNATURES = (
    "labelmill_next_task(text, bigint, timestamptz, double precision)",
    "labelmill_submit_begin(text, bigint)",
)


def upgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.add_column(
            sa.Column("confidence_target", sa.Float(), nullable=False, server_default="0.95")
        )
        batch_op.add_column(
            sa.Column("skill_threshold", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("min_gold_answers", sa.Integer(), nullable=False, server_default="5")
        )
    op.create_table(
        "worker_skill",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("gold_answers", sa.Integer(), nullable=False),
        sa.Column("gold_correct", sa.Integer(), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("agreed", sa.Integer(), nullable=False),
        sa.Column("skill", sa.Float(), nullable=False),
        sa.Column("removed_at", labelmill.server.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", labelmill.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_worker_skill_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["user_account.id"],
            name=op.f("fk_worker_skill_worker_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_skill")),
        sa.UniqueConstraint(
            "project_id", "worker_id", name=op.f("uq_worker_skill_project_id_worker_id")
        ),
    )
    op.create_index(op.f("ix_worker_skill_worker_id"), "worker_skill", ["worker_id"])
    if op.get_bind().dialect.name == "postgresql":
        for signature in _OLD_SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
        op.execute(NEXT_TASK)
        op.execute(SUBMIT_BEGIN)


def _revision_0002_functions() -> tuple[str, str]:
    """0002's function definitions, to restore them on downgrade."""
    path = Path(__file__).with_name("0002_pg_work_functions.py")
    spec = importlib.util.spec_from_file_location("labelmill_revision_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.NEXT_TASK), str(module.SUBMIT_BEGIN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in _OLD_SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
        for definition in _revision_0002_functions():
            op.execute(definition)
    op.drop_index(op.f("ix_worker_skill_worker_id"), table_name="worker_skill")
    op.drop_table("worker_skill")
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_column("min_gold_answers")
        batch_op.drop_column("skill_threshold")
        batch_op.drop_column("confidence_target")
