"""Staff roles: the operator's staff members and their least-privilege role.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

staff_role = postgresql.ENUM(
    "support", "privacy_officer", "admin", name="staff_role", create_type=False
)


def upgrade() -> None:
    staff_role.create(op.get_bind())
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("role", staff_role, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(active AND deactivated_at IS NULL) OR (NOT active AND deactivated_at IS NOT NULL)",
            name="ck_staff_members_deactivation_recorded",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_staff_members_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_members"),
        sa.UniqueConstraint("subject_id", name="uq_staff_members_subject_id"),
    )


def downgrade() -> None:
    op.drop_table("staff_members")
    staff_role.drop(op.get_bind())
