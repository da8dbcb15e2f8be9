"""The controls register (privacy.controls; CPE-IV.2.b-d, CPE-IV.5).

Controls (continuity plan, security-policy review, third-party audit,
certificate, security impact assessment), their append-only evidence, and the
versions of security impact assessments with their publication state.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ENUMS = {
    "control_kind": (
        "continuity_plan",
        "security_policy_review",
        "third_party_audit",
        "certificate",
        "security_impact_assessment",
    ),
    "assessment_risk_level": ("low", "medium", "high"),
    "assessment_state": ("draft", "published"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*_ENUMS[name], name=name, create_type=False)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _ENUMS:
        _enum(name).create(bind)
    op.create_table(
        "controls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("control_kind"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner_role", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("interval_months", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted_key", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "interval_months IS NULL OR interval_months BETWEEN 1 AND 120",
            name="ck_controls_interval_in_range",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_controls"),
        sa.UniqueConstraint("kind", "name", name="uq_controls_kind_name"),
    )
    op.create_table(
        "control_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("control_id", sa.Uuid(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > performed_on",
            name="ck_control_evidence_valid_after_performed",
        ),
        sa.ForeignKeyConstraint(
            ["control_id"], ["controls.id"], name="fk_control_evidence_control_id_controls"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_control_evidence"),
    )
    op.create_index("ix_control_evidence_control_id", "control_evidence", ["control_id"])
    op.create_table(
        "security_assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("control_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("risk_level", _enum("assessment_risk_level"), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("state", _enum("assessment_state"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(state = 'published') = (published_at IS NOT NULL)",
            name="ck_security_assessments_published_dated",
        ),
        sa.CheckConstraint("version >= 1", name="ck_security_assessments_version_positive"),
        sa.ForeignKeyConstraint(
            ["control_id"], ["controls.id"], name="fk_security_assessments_control_id_controls"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_security_assessments"),
        sa.UniqueConstraint("control_id", "version", name="uq_security_assessments_version"),
    )
    op.create_index("ix_security_assessments_control_id", "security_assessments", ["control_id"])


def downgrade() -> None:
    op.drop_index("ix_security_assessments_control_id", table_name="security_assessments")
    op.drop_table("security_assessments")
    op.drop_index("ix_control_evidence_control_id", table_name="control_evidence")
    op.drop_table("control_evidence")
    op.drop_table("controls")
    bind = op.get_bind()
    for name in reversed(list(_ENUMS)):
        _enum(name).drop(bind, checkfirst=True)
