"""Each request's work in each connected system (privacy.requests.systems, issue 18).

``request_systems`` holds one row per request and connected system: the
operation, its state, attempts, reason or recorded exception, rows, evidence,
the due date of a manual task, the identifiers and address sealed under a
keyring-wrapped data key of the row, a sealed exported part, and times.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_systems",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("exception", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("kek_id", sa.Text(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_requests.id"],
            name="fk_request_systems_request_id_subject_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_request_systems"),
        sa.UniqueConstraint("request_id", "system", name="uq_request_systems_request_id"),
    )
    op.create_index("ix_request_systems_request_id", "request_systems", ["request_id"])
    op.create_index("ix_request_systems_subject_id", "request_systems", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_request_systems_subject_id", table_name="request_systems")
    op.drop_index("ix_request_systems_request_id", table_name="request_systems")
    op.drop_table("request_systems")
