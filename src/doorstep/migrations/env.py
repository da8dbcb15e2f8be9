"""Alembic environment: runs on the connection :mod:`doorstep.core.migrations` provides."""

from __future__ import annotations

from alembic import context

from doorstep.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through doorstep.core.migrations
    raise RuntimeError("run migrations through `doorstep migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    compare_type=True,
    transaction_per_migration=True,
    include_name=lambda name, type_, _parent: (
        not (type_ == "table" and name is not None and name.startswith("procrastinate_"))
    ),
)
with context.begin_transaction():
    context.run_migrations()
