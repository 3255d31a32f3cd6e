"""Alembic environment: runs against the connection that ``labelmill.server.db.migrate``
hands over (``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context

import labelmill.server.models  # noqa: F401  (registers every table)
from labelmill.server.db.base import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `labelmill db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
