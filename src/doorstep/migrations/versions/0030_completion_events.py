"""Completion events of connected systems' records, which schedule their deletion.

``completion_events`` holds one row per closed record of a connected system
(an order's after-sales period, a ticket, a job application, a shop account):
the system, the kind of record, its id there, the subject when known, when it
was closed, the retention rule it schedules and when the deletion is due, and
where that deletion stands (state, attempts, reason, rows, evidence, times).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "completion_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_completion_events"),
        sa.UniqueConstraint("system", "kind", "record_id", name="uq_completion_events_system"),
    )
    op.create_index(
        "ix_completion_events_due_at",
        "completion_events",
        ["due_at"],
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_index("ix_completion_events_done_at", "completion_events", ["done_at"])
    op.create_index("ix_completion_events_subject_id", "completion_events", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_completion_events_subject_id", table_name="completion_events")
    op.drop_index("ix_completion_events_done_at", table_name="completion_events")
    op.drop_index("ix_completion_events_due_at", table_name="completion_events")
    op.drop_table("completion_events")
