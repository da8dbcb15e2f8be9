"""Consent ledger and restrictions.

* ``consent_events``: append-only.  A trigger refuses UPDATE and TRUNCATE always,
  and DELETE while the subject still exists; erasing the subject (``ON DELETE
  CASCADE``) is the one way rows leave.
* ``consent_state``: view of the latest event per subject x purpose.
* ``restrictions``: a trigger allows only lifting (``lifted_at`` NULL -> instant, once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

consent_action = postgresql.ENUM(
    "grant", "refuse", "withdraw", name="consent_action", create_type=False
)
consent_channel = postgresql.ENUM(
    "app", "web", "email", "support", name="consent_channel", create_type=False
)
restriction_reason = postgresql.ENUM(
    "accuracy_contested",
    "unlawful_processing",
    "legal_claims",
    "objection_pending",
    "objection",
    name="restriction_reason",
    create_type=False,
)

APPEND_ONLY = """
CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Rows leave only with their subject (erasure cascades here); the
        -- subject's row is already gone when the cascade runs.
        IF NOT EXISTS (SELECT 1 FROM subjects WHERE id = OLD.subject_id) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'consent_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER consent_events_append_only
    BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consent_events_append_only();
CREATE TRIGGER consent_events_no_truncate
    BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION consent_events_append_only();
"""

STATE_VIEW = """
CREATE VIEW consent_state AS
SELECT DISTINCT ON (subject_id, purpose)
       subject_id, purpose, action::text AS action, channel::text AS channel,
       policy_version, notice_hash, occurred_at, id AS event_id
  FROM consent_events
 ORDER BY subject_id, purpose, seq DESC;
"""

LIFT_ONLY = """
CREATE FUNCTION restrictions_lift_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.lifted_at IS NOT NULL OR NEW.lifted_at IS NULL
       OR (NEW.id, NEW.subject_id, NEW.purpose, NEW.reason, NEW.since)
          IS DISTINCT FROM (OLD.id, OLD.subject_id, OLD.purpose, OLD.reason, OLD.since) THEN
        RAISE EXCEPTION 'restrictions: the only change allowed is lifting one in force'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER restrictions_lift_only
    BEFORE UPDATE ON restrictions
    FOR EACH ROW EXECUTE FUNCTION restrictions_lift_only();
"""


def upgrade() -> None:
    bind = op.get_bind()
    for enum in (consent_action, consent_channel, restriction_reason):
        enum.create(bind)
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("action", consent_action, nullable=False),
        sa.Column("channel", consent_channel, nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("notice_hash", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action = 'withdraw' OR notice_hash IS NOT NULL", name="ck_consent_events_notice_shown"
        ),
        sa.CheckConstraint(
            "notice_hash ~ '^[0-9a-f]{64}$'", name="ck_consent_events_notice_hash_is_sha256"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_consent_events_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consent_events"),
        sa.UniqueConstraint("seq", name="uq_consent_events_seq"),
    )
    op.create_index(
        "ix_consent_events_subject_purpose_seq",
        "consent_events",
        ["subject_id", "purpose", "seq"],
    )
    op.execute(APPEND_ONLY)
    op.execute(STATE_VIEW)

    op.create_table(
        "restrictions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("reason", restriction_reason, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "lifted_at IS NULL OR lifted_at >= since", name="ck_restrictions_lifted_after_since"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_restrictions_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_restrictions"),
    )
    op.create_index(
        "uq_restrictions_in_force",
        "restrictions",
        ["subject_id", "purpose"],
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
    )
    op.execute(LIFT_ONLY)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS restrictions_lift_only ON restrictions")
    op.execute("DROP FUNCTION IF EXISTS restrictions_lift_only()")
    op.drop_index("uq_restrictions_in_force", table_name="restrictions")
    op.drop_table("restrictions")
    op.execute("DROP VIEW IF EXISTS consent_state")
    op.execute("DROP TRIGGER IF EXISTS consent_events_no_truncate ON consent_events")
    op.execute("DROP TRIGGER IF EXISTS consent_events_append_only ON consent_events")
    op.execute("DROP FUNCTION IF EXISTS consent_events_append_only()")
    op.drop_index("ix_consent_events_subject_purpose_seq", table_name="consent_events")
    op.drop_table("consent_events")
    bind = op.get_bind()
    for enum in (restriction_reason, consent_channel, consent_action):
        enum.drop(bind)
