"""worker rating bias

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 15:30:00

``worker_skill.rating_bias``: each worker's offset per rating criterion, estimated by the
project's re-aggregation (``quality.aggregate_ratings``) and subtracted from the worker's
ratings when later tasks settle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("worker_skill") as batch_op:
        batch_op.add_column(sa.Column("rating_bias", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker_skill") as batch_op:
        batch_op.drop_column("rating_bias")
