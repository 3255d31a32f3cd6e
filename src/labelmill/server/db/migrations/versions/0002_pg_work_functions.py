"""PostgreSQL functions for the two calls of the annotation loop

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:20:00

On PostgreSQL, ``next task`` and the locking half of ``submit`` run as one PL/pgSQL call
each (``services/work_pg.py``): a unit of work of six or seven statements otherwise costs
six or seven network round trips, each with its driver and event-loop time, and that — not
the database work — is what limited the loop. The functions do exactly what
``services/queue.py`` and ``services/submissions.py`` do (which remain the implementation on
SQLite and for every other caller), in the same lock order (worker → task → assignment).
Each statement of a VOLATILE PL/pgSQL function takes a fresh snapshot under READ COMMITTED,
so reading the worker's live lease after locking the worker's row sees a concurrent request's
committed lease, as the Python implementation's separate statements do.

Nothing is created on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Outcomes the callers turn into errors: 'unauthenticated' (401), 'not_member' (401, a member
# key whose user left the organization), 'not_a_person' (403, an organization key),
# 'not_found' (404), 'none' (no task now), 'ok'.
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
CREATE OR REPLACE FUNCTION labelmill_next_task(
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

# The reading and locking half of a submission; the caller validates the response, decides
# the answer and writes in the same transaction (services/work_pg.py).
SUBMIT_BEGIN = f"""
CREATE OR REPLACE FUNCTION labelmill_submit_begin(p_key_hash text, p_assignment_id bigint)
RETURNS TABLE (o_outcome text, o_worker_id bigint, o_task_id bigint, o_project_id bigint,
               o_assignment_status text, o_expires_at timestamptz, o_task_status text,
               o_is_gold boolean, o_open_leases integer, o_n_annotations integer,
               o_label_target integer, o_batch_id bigint, o_project_version integer,
               o_params jsonb, o_gold_answer jsonb, o_task_type text, o_max_labels integer,
               o_responses jsonb)
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
           t.project_version, t.params, t.gold_answer, p.task_type, p.max_labels
      INTO o_task_status, o_is_gold, o_open_leases, o_n_annotations, o_label_target,
           o_batch_id, o_project_version, o_params, o_gold_answer, o_task_type, o_max_labels
      FROM task t JOIN project p ON p.id = t.project_id
     WHERE t.id = o_task_id
       FOR UPDATE OF t;

    -- Read after the task lock: the sweeper may have expired the lease meanwhile.
    SELECT a.status, a.expires_at INTO o_assignment_status, o_expires_at
      FROM assignment a WHERE a.id = p_assignment_id;

    IF o_task_status = 'pending' AND NOT o_is_gold
       AND o_n_annotations + 1 >= o_label_target THEN
        -- This answer may settle the task: the caller needs the earlier ones.
        SELECT coalesce(jsonb_agg(n.response ORDER BY n.id), '[]'::jsonb) INTO o_responses
          FROM annotation n WHERE n.task_id = o_task_id;
    END IF;
    o_outcome := 'ok';
    RETURN NEXT;
END
$fn$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NEXT_TASK)
    op.execute(SUBMIT_BEGIN)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS labelmill_submit_begin(text, bigint)")
    op.execute(
        "DROP FUNCTION IF EXISTS labelmill_next_task(text, bigint, timestamptz, double precision)"
    )
