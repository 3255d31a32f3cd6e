"""Review stage: settings, review leases, task review status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:20:00

Projects gain ``review_rate`` (share of completed tasks sent to review) and ``review_below``
(completed tasks under this confidence always go to review); tasks gain ``review_status``;
``review`` holds reviewers' leases and decisions. On PostgreSQL ``labelmill_submit_begin``
now returns the task's project row as JSON instead of one column per setting, so settings
added later need no new version of the function.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelmill.server.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = labelmill.server.db.base.UtcDateTime(timezone=True)

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

SUBMIT_BEGIN = f"""
CREATE FUNCTION labelmill_submit_begin(p_key_hash text, p_assignment_id bigint)
RETURNS TABLE (o_outcome text, o_worker_id bigint, o_task_id bigint, o_project_id bigint,
               o_assignment_status text, o_expires_at timestamptz, o_task_status text,
               o_is_gold boolean, o_open_leases integer, o_n_annotations integer,
               o_label_target integer, o_batch_id bigint, o_project_version integer,
               o_params jsonb, o_gold_answer jsonb, o_project jsonb,
               o_worker_skill double precision, o_worker_removed boolean, o_responses jsonb)
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

    -- The whole project row as JSON: settings added later need no new version of this
    -- function.
    SELECT t.status, t.is_gold, t.open_leases, t.n_annotations, t.label_target, t.batch_id,
           t.project_version, t.params, t.gold_answer, to_jsonb(p)
      INTO o_task_status, o_is_gold, o_open_leases, o_n_annotations, o_label_target,
           o_batch_id, o_project_version, o_params, o_gold_answer, o_project
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


_SIGNATURE = "labelmill_submit_begin(text, bigint)"


def upgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.add_column(
            sa.Column("review_rate", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("review_below", sa.Float(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=20), nullable=True))
    op.create_index("ix_task_project_review", "task", ["project_id", "review_status"])
    op.create_table(
        "review",
        sa.Column("id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("reviewer_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("old_response", _JSON, nullable=True),
        sa.Column("response", _JSON, nullable=True),
        sa.Column("leased_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_review_task_id_task"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_review_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["user_account.id"],
            name=op.f("fk_review_reviewer_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    op.create_index("ix_review_project_status", "review", ["project_id", "status"])
    op.create_index("ix_review_reviewer_project", "review", ["reviewer_id", "project_id"])
    op.create_index(op.f("ix_review_task_id"), "review", ["task_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
        op.execute(SUBMIT_BEGIN)


def _revision_0003_submit_begin() -> str:
    path = Path(__file__).with_name("0003_quality_settings_and_skills.py")
    spec = importlib.util.spec_from_file_location("labelmill_revision_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.SUBMIT_BEGIN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
        op.execute(_revision_0003_submit_begin())
    op.drop_index(op.f("ix_review_task_id"), table_name="review")
    op.drop_index("ix_review_reviewer_project", table_name="review")
    op.drop_index("ix_review_project_status", table_name="review")
    op.drop_table("review")
    op.drop_index("ix_task_project_review", table_name="task")
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("review_status")
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_column("review_below")
        batch_op.drop_column("review_rate")
