"""Legal holds (privacy.holds): the holds, and the jobs they hold back.

``legal_holds`` names a subject (no foreign key: a hold outlives the erasure
it held back), the element held (NULL: all of the subject's data), the legal
ground, the authority and its reference, and who placed and released it.
``legal_hold_deferrals`` holds the jobs a hold deferred until a release.  The
partial indexes serve what erasure and release ask: a subject's holds that
stand, its jobs still waiting.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("element", sa.Text(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index(
        "ix_legal_holds_subject_id",
        "legal_holds",
        ["subject_id"],
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "legal_hold_deferrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("arguments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("queueing_lock", sa.Text(), nullable=True),
        sa.Column("deferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_hold_deferrals"),
        sa.UniqueConstraint("queueing_lock", name="uq_legal_hold_deferrals_queueing_lock"),
    )
    op.create_index(
        "ix_legal_hold_deferrals_subject_id",
        "legal_hold_deferrals",
        ["subject_id"],
        postgresql_where=sa.text("enqueued_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_legal_hold_deferrals_subject_id", table_name="legal_hold_deferrals")
    op.drop_table("legal_hold_deferrals")
    op.drop_index("ix_legal_holds_subject_id", table_name="legal_holds")
    op.drop_table("legal_holds")
