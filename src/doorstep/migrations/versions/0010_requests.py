"""Data-subject requests (state and deadline clock) and erasure tombstones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ENUMS = {
    "subject_request_kind": (
        "access",
        "portability",
        "correction",
        "deletion",
        "restriction",
        "objection",
        "consent_withdrawal",
        "deregistration",
    ),
    "subject_request_status": (
        "received",
        "verifying",
        "in_progress",
        "extended",
        "completed",
        "refused",
    ),
    "subject_request_channel": ("app", "web_form", "email", "post", "staff"),
}


def _enum(name: str) -> sa.Enum:
    return sa.Enum(*_ENUMS[name], name=name)


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("subject_request_kind"), nullable=False),
        sa.Column("status", _enum("subject_request_status"), nullable=False),
        sa.Column("channel", _enum("subject_request_channel"), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("ground", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification", sa.Text(), nullable=True),
        sa.Column("extended_months", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("refusal_code", sa.Text(), nullable=True),
        sa.Column("fee_due", sa.Boolean(), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proof_hash", sa.LargeBinary(), nullable=True),
        sa.Column("proof_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proof_attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subject_requests"),
    )
    op.create_index("ix_subject_requests_subject_id", "subject_requests", ["subject_id"])
    op.create_index("ix_subject_requests_due_at", "subject_requests", ["due_at"])
    op.create_table(
        "erasure_tombstones",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name="pk_erasure_tombstones"),
    )


def downgrade() -> None:
    op.drop_table("erasure_tombstones")
    op.drop_index("ix_subject_requests_due_at", table_name="subject_requests")
    op.drop_index("ix_subject_requests_subject_id", table_name="subject_requests")
    op.drop_table("subject_requests")
    bind = op.get_bind()
    for name in reversed(list(_ENUMS)):
        _enum(name).drop(bind, checkfirst=True)
