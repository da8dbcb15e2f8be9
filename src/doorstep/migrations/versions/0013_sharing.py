"""The disclosure register and recipient notices (CPE-V.3.c, CPE-V.2.b).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ENUMS = {
    "disclosure_basis": ("operator", "legal_exception", "independent_authorization"),
    "recipient_notice_kind": ("erasure", "correction"),
    "recipient_notice_status": ("sent", "manual", "skipped", "confirmed"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*_ENUMS[name], name=name, create_type=False)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _ENUMS:
        _enum(name).create(bind)
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("elements", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("basis", _enum("disclosure_basis"), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_disclosures_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
    )
    op.create_index("ix_disclosures_subject_id", "disclosures", ["subject_id"])
    op.create_table(
        "recipient_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("kind", _enum("recipient_notice_kind"), nullable=False),
        sa.Column("status", _enum("recipient_notice_status"), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recipient_notices"),
    )
    op.create_index("ix_recipient_notices_subject_id", "recipient_notices", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_recipient_notices_subject_id", table_name="recipient_notices")
    op.drop_table("recipient_notices")
    op.drop_index("ix_disclosures_subject_id", table_name="disclosures")
    op.drop_table("disclosures")
    bind = op.get_bind()
    for name in reversed(list(_ENUMS)):
        _enum(name).drop(bind, checkfirst=True)
