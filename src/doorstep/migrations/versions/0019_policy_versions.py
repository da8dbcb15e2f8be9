"""Policy versions, their classification, each subject's answers and the notices sent.

``policy_versions`` (privacy.policies): every published version with its
effective date, summary, classified changes, facts and documents.
``policy_acceptances``: acknowledgements at onboarding, acceptances and
refusals (CPE-0.5, CPE-VII.1).  ``policy_notices`` (privacy.changes): who was
told of which major version (CPE-VII.3, CORP-8.2).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ENUMS = {
    "policy_answer_kind": ("acknowledge", "accept", "refuse"),
    "policy_answer_channel": ("web", "api", "app"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*_ENUMS[name], name=name, create_type=False)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _ENUMS:
        _enum(name).create(bind)
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("classified_major", sa.Boolean(), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("minor_reason", sa.Text(), nullable=True),
        sa.Column("requires_acceptance", sa.Boolean(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("facts", postgresql.JSONB(), nullable=False),
        sa.Column("documents", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint(
            "NOT classified_major OR major OR minor_reason IS NOT NULL",
            name="ck_policy_versions_minor_has_reason",
        ),
        sa.CheckConstraint(
            "NOT requires_acceptance OR major", name="ck_policy_versions_acceptance_is_major"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
    )
    op.create_index("ix_policy_versions_effective_at", "policy_versions", ["effective_at"])
    op.create_table(
        "policy_acceptances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("kind", _enum("policy_answer_kind"), nullable=False),
        sa.Column("channel", _enum("policy_answer_channel"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_policy_acceptances_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["policy_versions.id"],
            name="fk_policy_acceptances_version_id_policy_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_policy_acceptances"),
    )
    op.create_index("ix_policy_acceptances_subject_id", "policy_acceptances", ["subject_id"])
    op.create_table(
        "policy_notices",
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_policy_notices_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["policy_versions.id"],
            name="fk_policy_notices_version_id_policy_versions",
        ),
        sa.PrimaryKeyConstraint("version_id", "subject_id", name="pk_policy_notices"),
    )
    op.create_index("ix_policy_notices_subject_id", "policy_notices", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_policy_notices_subject_id", table_name="policy_notices")
    op.drop_table("policy_notices")
    op.drop_index("ix_policy_acceptances_subject_id", table_name="policy_acceptances")
    op.drop_table("policy_acceptances")
    op.drop_index("ix_policy_versions_effective_at", table_name="policy_versions")
    op.drop_table("policy_versions")
    bind = op.get_bind()
    for name in reversed(list(_ENUMS)):
        _enum(name).drop(bind, checkfirst=True)
