"""Notification outbox.

* ``outbox``: one row per message; exactly one recipient column matches the
  channel; ``last_error`` is a code, never reply text (CHECK constraints).
* ``ix_outbox_purge``: a partial index over the final messages whose content
  is still there, so the purge sweep reads only what it will blank.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

outbox_channel = postgresql.ENUM("email", "sms", "push", name="outbox_channel", create_type=False)
outbox_status = postgresql.ENUM(
    "queued", "sent", "failed", "cancelled", name="outbox_status", create_type=False
)


def upgrade() -> None:
    bind = op.get_bind()
    for enum in (outbox_channel, outbox_status):
        enum.create(bind)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("channel", outbox_channel, nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("device_token", sa.Text(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", outbox_status, server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(channel = 'email') = (email IS NOT NULL) AND (channel = 'sms') = (phone IS NOT NULL)"
            " AND (channel = 'push') = (device_token IS NOT NULL)",
            name="ck_outbox_one_recipient",
        ),
        sa.CheckConstraint(
            "status <> 'queued' OR params IS NOT NULL", name="ck_outbox_queued_has_content"
        ),
        sa.CheckConstraint(
            "(status = 'queued') = (finished_at IS NULL)", name="ck_outbox_finished_when_final"
        ),
        sa.CheckConstraint(
            "(status = 'sent') = (sent_at IS NOT NULL)", name="ck_outbox_sent_has_time"
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_outbox_attempts_not_negative"),
        sa.CheckConstraint(
            "last_error ~ '^[a-z0-9_.-]{1,64}$'", name="ck_outbox_last_error_is_code"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_subject_id", "outbox", ["subject_id"])
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index(
        "ix_outbox_purge",
        "outbox",
        ["finished_at"],
        postgresql_where=sa.text("params IS NOT NULL AND status <> 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_purge", table_name="outbox")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_index("ix_outbox_subject_id", table_name="outbox")
    op.drop_table("outbox")
    bind = op.get_bind()
    for enum in (outbox_status, outbox_channel):
        enum.drop(bind)
