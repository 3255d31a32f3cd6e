"""answer revisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:50:00

Completed answers changed by a project-wide re-aggregation, with the value they replaced.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelmill.server.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "answer_revision",
        sa.Column("id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("method", sa.String(length=50), nullable=False),
        sa.Column("old_response", _JSON, nullable=True),
        sa.Column("new_response", _JSON, nullable=False),
        sa.Column("old_confidence", sa.Float(), nullable=True),
        sa.Column("new_confidence", sa.Float(), nullable=False),
        sa.Column(
            "created_at", labelmill.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
            name=op.f("fk_answer_revision_task_id_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_answer_revision_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job.id"],
            name=op.f("fk_answer_revision_job_id_job"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_revision")),
    )
    op.create_index("ix_answer_revision_project_id_id", "answer_revision", ["project_id", "id"])
    op.create_index(op.f("ix_answer_revision_task_id"), "answer_revision", ["task_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_revision_task_id"), table_name="answer_revision")
    op.drop_index("ix_answer_revision_project_id_id", table_name="answer_revision")
    op.drop_table("answer_revision")
