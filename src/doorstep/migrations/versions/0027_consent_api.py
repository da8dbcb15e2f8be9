"""Idempotency keys of the app's consent API: ``consent_request_keys``.

One row per ``Idempotency-Key`` a subscriber's app sent with a grant or a
withdrawal: the SHA-256 fingerprint of the request and the ledger event it
recorded, so a repeated request answers with that event instead of recording a
second one.  Rows go with the subject (as its ledger does) by ``ON DELETE
CASCADE`` and are swept after the pack's ``consent_request_key`` period.  The
event id has no foreign key: one would make ``TRUNCATE consent_events`` fail on
the reference before the ledger's append-only trigger could refuse it.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_request_keys",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("consent_event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(key) BETWEEN 1 AND 255", name=op.f("ck_consent_request_keys_key_length")
        ),
        sa.CheckConstraint(
            "fingerprint ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_consent_request_keys_fingerprint_is_sha256"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_consent_request_keys_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "key", name=op.f("pk_consent_request_keys")),
    )
    op.create_index("ix_consent_request_keys_created_at", "consent_request_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_consent_request_keys_created_at", table_name="consent_request_keys")
    op.drop_table("consent_request_keys")
