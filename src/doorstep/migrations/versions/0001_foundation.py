"""Foundation: the job queue's schema (Procrastinate 3.10.0) and the subject registry.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PROCRASTINATE_VERSION = "3.10.0"


def _procrastinate_schema() -> str:
    import procrastinate
    from procrastinate.schema import SchemaManager

    # The pin in pyproject.toml keeps this migration reproducible; upgrading
    # Procrastinate means a new migration that applies its own migration files.
    if procrastinate.__version__ != PROCRASTINATE_VERSION:
        raise RuntimeError(
            f"migration 0001 installs Procrastinate {PROCRASTINATE_VERSION}'s schema; "
            f"{procrastinate.__version__} is installed"
        )
    return str(SchemaManager.get_schema())


def upgrade() -> None:
    # A raw cursor with no parameters: the schema's PL/pgSQL holds '%' characters
    # that a parameterised execute would read as placeholders.
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(_procrastinate_schema())
    subject_kind = postgresql.ENUM("subscriber", "guardian", "staff", name="subject_kind")
    op.create_table(
        "subjects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", subject_kind, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subjects"),
    )


def downgrade() -> None:
    op.drop_table("subjects")
    postgresql.ENUM(name="subject_kind").drop(op.get_bind())
    bind = op.get_bind()
    # Procrastinate ships no uninstall script: drop its objects by their common prefix.
    for (table,) in bind.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename LIKE 'procrastinate%%'"
    ).all():
        bind.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    for (function,) in bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
        "AND p.proname LIKE 'procrastinate%%'"
    ).all():
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for (type_name,) in bind.exec_driver_sql(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%' "
        "AND t.typtype IN ('e', 'c')"
    ).all():
        bind.exec_driver_sql(f'DROP TYPE IF EXISTS "{type_name}" CASCADE')
