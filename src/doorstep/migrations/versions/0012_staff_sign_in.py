"""Staff sign-in: one-time links and console sessions (digests only).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

staff_token_kind = postgresql.ENUM("link", "session", name="staff_token_kind", create_type=False)


def upgrade() -> None:
    staff_token_kind.create(op.get_bind())
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("kind", staff_token_kind, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name="fk_staff_tokens_staff_id_staff_members",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_staff_tokens_token_hash"),
    )
    op.create_index("ix_staff_tokens_staff_id", "staff_tokens", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_tokens_staff_id", table_name="staff_tokens")
    op.drop_table("staff_tokens")
    staff_token_kind.drop(op.get_bind())
