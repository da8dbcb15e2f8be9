"""The grounds of sharing: recipient consents, legal demands, controller changes (privacy.sharing).

The recipient registry itself (roles, agreements, minimal sets) is the policy
pack's (decision 0030); the database holds what happens per subject:

* ``disclosures`` gains ``ground`` (which ground the sharing gate let the flow
  through on) and ``ground_ref`` (the consent decision or legal demand it relied
  on); rows recorded before this revision keep both empty;
* ``recipient_consents``: a subject's explicit grants and withdrawals of sharing
  with one recipient for one purpose (CPE-III.1.a, III.2.a);
* ``legal_demands``: authority, legal reference, scope and approver of each legal
  demand (CPE-III.1.b, CORP-3.5), kept as evidence after the subject is erased;
* ``controller_changes``: a change of controller and the policy version the
  successor stays bound to (CPE-III.2.b).

Going down drops the three tables, the two columns and the two enum types.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_GROUND = postgresql.ENUM(
    "consent",
    "processor_contract",
    "group_necessity",
    "partner_necessity",
    "legal_demand",
    name="sharing_ground",
    create_type=False,
)
_DECISION = postgresql.ENUM(
    "grant", "withdraw", name="recipient_consent_decision", create_type=False
)


def upgrade() -> None:
    bind = op.get_bind()
    _GROUND.create(bind)
    _DECISION.create(bind)
    op.add_column("disclosures", sa.Column("ground", _GROUND, nullable=True))
    op.add_column("disclosures", sa.Column("ground_ref", sa.Uuid(), nullable=True))
    op.create_table(
        "recipient_consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("decision", _DECISION, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_recipient_consents_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recipient_consents"),
    )
    op.create_index(
        "ix_recipient_consents_subject",
        "recipient_consents",
        ["subject_id", "recipient", "purpose", "decided_at"],
    )
    op.create_table(
        "legal_demands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("legal_reference", sa.Text(), nullable=False),
        sa.Column("scope", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_legal_demands"),
    )
    op.create_index("ix_legal_demands_subject_id", "legal_demands", ["subject_id"])
    op.create_table(
        "controller_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("successor", sa.Text(), nullable=False),
        sa.Column("successor_contact", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_controller_changes"),
    )


def downgrade() -> None:
    op.drop_table("controller_changes")
    op.drop_index("ix_legal_demands_subject_id", table_name="legal_demands")
    op.drop_table("legal_demands")
    op.drop_index("ix_recipient_consents_subject", table_name="recipient_consents")
    op.drop_table("recipient_consents")
    op.drop_column("disclosures", "ground_ref")
    op.drop_column("disclosures", "ground")
    bind = op.get_bind()
    _DECISION.drop(bind)
    _GROUND.drop(bind)
