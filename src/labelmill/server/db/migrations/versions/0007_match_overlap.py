"""match fixed overlap

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 11:20:00

Projects gain ``match_overlap``: when k > 0, their confidence target is derived from the
crowd's skills so that dynamic overlap matches fixed overlap k (``services/overlap_target``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.add_column(
            sa.Column("match_overlap", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_column("match_overlap")
