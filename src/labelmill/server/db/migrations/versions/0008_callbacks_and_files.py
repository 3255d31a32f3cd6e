"""task callbacks, Scale fields and stored files

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 14:00:00

Tasks gain what the Scale-compatible API and callbacks need: ``callback_url`` and
``callback_succeeded`` (delivery through the outbox), ``is_test`` (created with a test key),
``customer_review_status`` (the customer's audit) and ``scale_request`` (the Scale type,
params with their defaults and task-level instruction, as the task was created through
``/v1``). Uploaded files (``stored_file``) keep their bytes in ``stored_file_chunk``, as
dataset snapshots do, so any server process can serve them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelmill.server.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = labelmill.server.db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("callback_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("callback_succeeded", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("customer_review_status", sa.String(length=20), nullable=True)
        )
        batch_op.add_column(sa.Column("scale_request", _JSON, nullable=True))
    op.create_index("ix_task_org_id_id", "task", ["org_id", "id"])
    op.create_table(
        "stored_file",
        sa.Column("id", _ID, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("reference_id", sa.String(length=500), nullable=True),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("mime_type", sa.String(length=200), nullable=False),
        sa.Column("byte_size", _ID, nullable=False),
        sa.Column("n_chunks", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("project_names", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_stored_file_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
        sa.UniqueConstraint("public_id", name=op.f("uq_stored_file_public_id")),
        sa.UniqueConstraint(
            "org_id", "reference_id", name=op.f("uq_stored_file_org_id_reference_id")
        ),
    )
    op.create_table(
        "stored_file_chunk",
        sa.Column("file_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_file.id"],
            name=op.f("fk_stored_file_chunk_file_id_stored_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_stored_file_chunk")),
    )


def downgrade() -> None:
    op.drop_table("stored_file_chunk")
    op.drop_table("stored_file")
    op.drop_index("ix_task_org_id_id", table_name="task")
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("scale_request")
        batch_op.drop_column("customer_review_status")
        batch_op.drop_column("is_test")
        batch_op.drop_column("callback_succeeded")
        batch_op.drop_column("callback_url")
