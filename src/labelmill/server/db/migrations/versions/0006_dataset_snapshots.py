"""dataset snapshots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 11:00:00

Every export is recorded as a dataset snapshot (``dataset``: recipe, answers' version, size,
row count, SHA-256) whose file is kept in ``dataset_chunk`` (pieces of about 1 MiB), so any
server process sharing the database can serve it again, byte-identical.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelmill.server.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = labelmill.server.db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=50), nullable=False),
        sa.Column("options", _JSON, nullable=False),
        sa.Column("status_filter", sa.String(length=20), nullable=False),
        sa.Column("include_gold", sa.Boolean(), nullable=False),
        sa.Column("batch_id", _ID, nullable=True),
        sa.Column("params_version", sa.Integer(), nullable=False),
        sa.Column("answer_revision_id", _ID, nullable=True),
        sa.Column("max_task_id", _ID, nullable=True),
        sa.Column("tasks_updated_at", _TIME, nullable=True),
        sa.Column("last_completed_at", _TIME, nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("file_extension", sa.String(length=20), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("byte_size", _ID, nullable=False),
        sa.Column("n_chunks", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("created_by_key_id", _ID, nullable=True),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_dataset_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_dataset_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_dataset_batch_id_batch"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_dataset_created_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_key_id"],
            ["api_key.id"],
            name=op.f("fk_dataset_created_by_key_id_api_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset")),
    )
    op.create_index("ix_dataset_project_id_id", "dataset", ["project_id", "id"])
    op.create_index(op.f("ix_dataset_org_id"), "dataset", ["org_id"])
    op.create_table(
        "dataset_chunk",
        sa.Column("dataset_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_dataset_chunk_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "seq", name=op.f("pk_dataset_chunk")),
    )


def downgrade() -> None:
    op.drop_table("dataset_chunk")
    op.drop_index(op.f("ix_dataset_org_id"), table_name="dataset")
    op.drop_index("ix_dataset_project_id_id", table_name="dataset")
    op.drop_table("dataset")
