"""Incidents, affected subjects and notification obligations (privacy.incidents).

Seven tables: ``incidents`` (what happened, its window, rating and counts),
``incident_tasks`` (the emergency plan), ``incident_subjects`` (who is affected,
their jurisdiction, whether they were told), ``incident_deliveries`` (one notice
per subject and channel), ``incident_notices`` (the five-part text per language),
``incident_obligations`` (to each authority and to the subjects of each
jurisdiction, with their clocks) and ``incident_public_notices``.  States are
text with CHECK constraints.  See decisions 0018 and 0022.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["incident_id"],
        ["incidents.id"],
        name=f"fk_{table}_incident_id_incidents",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("aware_at", _TS, nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("window_start", _TS, nullable=True),
        sa.Column("window_end", _TS, nullable=True),
        sa.Column("systems", ARRAY(sa.Text()), nullable=False),
        sa.Column("elements", ARRAY(sa.Text()), nullable=False),
        sa.Column("device_models", ARRAY(sa.Text()), nullable=False),
        sa.Column("device_ids", ARRAY(sa.Uuid()), nullable=False),
        sa.Column("risk", sa.Text(), nullable=True),
        sa.Column("rated_at", _TS, nullable=True),
        sa.Column("affected_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("computed_at", _TS, nullable=True),
        sa.Column("notify_started_at", _TS, nullable=True),
        sa.Column("closed_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.CheckConstraint(
            "kind IN ('loss', 'disclosure', 'alteration', 'unauthorised_access')",
            name="ck_incidents_kind_known",
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_incidents_status_known"),
        sa.CheckConstraint(
            "risk IS NULL OR risk IN ('low', 'significant')", name="ck_incidents_risk_known"
        ),
        sa.CheckConstraint(
            "(risk IS NULL) = (rated_at IS NULL)", name="ck_incidents_rated_with_time"
        ),
        sa.CheckConstraint(
            "window_start IS NULL OR window_end IS NULL OR window_start <= window_end",
            name="ck_incidents_window_ordered",
        ),
        sa.CheckConstraint("affected_count >= 0", name="ck_incidents_count_not_negative"),
    )
    op.create_table(
        "incident_tasks",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("done_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "kind", name="pk_incident_tasks"),
        _fk("incident_tasks"),
        sa.CheckConstraint("kind IN ('contain', 'assess')", name="ck_incident_tasks_kind_known"),
    )
    op.create_table(
        "incident_subjects",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("notified_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "subject_id", name="pk_incident_subjects"),
        _fk("incident_subjects"),
        sa.CheckConstraint(
            "status IN ('pending', 'notified', 'unreachable')",
            name="ck_incident_subjects_status_known",
        ),
    )
    op.create_index("ix_incident_subjects_pending", "incident_subjects", ["incident_id", "status"])
    op.create_index("ix_incident_subjects_subject_id", "incident_subjects", ["subject_id"])
    op.create_table(
        "incident_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_deliveries"),
        _fk("incident_deliveries"),
        sa.UniqueConstraint(
            "incident_id", "subject_id", "channel", name="uq_incident_deliveries_once"
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push', 'letter', 'phone_call')",
            name="ck_incident_deliveries_channel_known",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'cancelled', 'task_open', 'done')",
            name="ck_incident_deliveries_status_known",
        ),
    )
    op.create_index("ix_incident_deliveries_subject_id", "incident_deliveries", ["subject_id"])
    op.create_index("ix_incident_deliveries_outbox_id", "incident_deliveries", ["outbox_id"])
    op.create_table(
        "incident_notices",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("basic_situation", sa.Text(), nullable=False),
        sa.Column("possible_impact", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("self_protection_advice", sa.Text(), nullable=False),
        sa.Column("remedies", sa.Text(), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "locale", name="pk_incident_notices"),
        _fk("incident_notices"),
    )
    op.create_table(
        "incident_obligations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("filed_at", _TS, nullable=True),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("met_at", _TS, nullable=True),
        sa.Column("reminded_at", _TS, nullable=True),
        sa.Column("overdue_at", _TS, nullable=True),
        sa.Column("hold_authority", sa.Text(), nullable=True),
        sa.Column("hold_reference", sa.Text(), nullable=True),
        sa.Column("hold_until", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_obligations"),
        _fk("incident_obligations"),
        sa.UniqueConstraint(
            "incident_id", "party", "jurisdiction", name="uq_incident_obligations_once"
        ),
        sa.CheckConstraint(
            "party IN ('authority', 'subjects')", name="ck_incident_obligations_party_known"
        ),
        sa.CheckConstraint(
            "(party = 'authority' AND status IN ('draft', 'filed', 'acknowledged'))"
            " OR (party = 'subjects' AND status IN ('open', 'met'))",
            name="ck_incident_obligations_status_of_party",
        ),
        sa.CheckConstraint(
            "(hold_until IS NULL) = (hold_authority IS NULL)"
            " AND (hold_until IS NULL) = (hold_reference IS NULL)",
            name="ck_incident_obligations_hold_complete",
        ),
        sa.CheckConstraint(
            "reference IS NULL OR reference ~ '^[A-Za-z0-9/_.:-]{1,64}$'",
            name="ck_incident_obligations_reference_is_code",
        ),
    )
    op.create_index("ix_incident_obligations_due_at", "incident_obligations", ["due_at"])
    op.create_table(
        "incident_public_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.Column("unreached", sa.Integer(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_public_notices"),
        _fk("incident_public_notices"),
        sa.CheckConstraint(
            "reason IN ('contact_failed', 'impracticable')",
            name="ck_incident_public_notices_reason_known",
        ),
        sa.CheckConstraint("url ~ '^https://'", name="ck_incident_public_notices_url_https"),
    )


def downgrade() -> None:
    op.drop_table("incident_public_notices")
    op.drop_index("ix_incident_obligations_due_at", table_name="incident_obligations")
    op.drop_table("incident_obligations")
    op.drop_table("incident_notices")
    op.drop_index("ix_incident_deliveries_outbox_id", table_name="incident_deliveries")
    op.drop_index("ix_incident_deliveries_subject_id", table_name="incident_deliveries")
    op.drop_table("incident_deliveries")
    op.drop_index("ix_incident_subjects_subject_id", table_name="incident_subjects")
    op.drop_index("ix_incident_subjects_pending", table_name="incident_subjects")
    op.drop_table("incident_subjects")
    op.drop_table("incident_tasks")
    op.drop_table("incidents")
