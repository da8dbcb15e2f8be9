"""Withdrawals told to connected systems, and the watermarks of completion sources.

``system_withdrawals`` holds one row per consent withdrawal (or objection) and
connected system relying on the purpose: subject, system, purpose, cause, the
ledger event or restriction it came from, where telling the system stands
(state, attempts, reason, evidence, a manual task's due date, who recorded it,
times).  Its rows go with the subject (foreign key, ``ON DELETE CASCADE``).

``completion_sources`` holds, per system and kind of record whose completion
``source:`` the pack declares, the periodic scan's watermark, when it last ran,
the events it recorded, rows it refused and the reason of its last failure.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_withdrawals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("origin_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_system_withdrawals_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_system_withdrawals"),
        sa.UniqueConstraint("origin_id", "system", name="uq_system_withdrawals_origin_id"),
    )
    op.create_index("ix_system_withdrawals_subject_id", "system_withdrawals", ["subject_id"])
    op.create_index("ix_system_withdrawals_state", "system_withdrawals", ["state", "created_at"])
    op.create_table(
        "completion_sources",
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("system", "kind", name="pk_completion_sources"),
    )


def downgrade() -> None:
    op.drop_table("completion_sources")
    op.drop_index("ix_system_withdrawals_state", table_name="system_withdrawals")
    op.drop_index("ix_system_withdrawals_subject_id", table_name="system_withdrawals")
    op.drop_table("system_withdrawals")
