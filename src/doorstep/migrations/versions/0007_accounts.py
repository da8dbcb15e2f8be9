"""Accounts: registration data, sessions, one-time codes, rate limits, sign-in flows,
linked providers, the optional profile, guardians and manual deregistration requests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ENUMS = (
    "account_verification_kind",
    "account_session_end_reason",
    "account_guardian_decision",
    "account_deregistration_outcome",
    "account_deregistration_reason",
    "account_status",
)


def upgrade() -> None:
    op.create_table(
        "account_rate_limits",
        sa.Column("bucket", sa.LargeBinary(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_account_rate_limits"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "awaiting_guardian", "active", "deregistered", name="account_status"
            ),
            nullable=False,
        ),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("child_until", sa.Date(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deregistered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "deregistration_reason",
            sa.Enum(
                "self_service",
                "support",
                "guardian_consent_missing",
                "guardian_refused",
                name="account_deregistration_reason",
            ),
            nullable=True,
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'deregistered') = (deregistered_at IS NOT NULL)",
            name="ck_accounts_deregistered_when_closed",
        ),
        sa.CheckConstraint("phone ~ '^\\+[1-9][0-9]{6,14}$'", name="ck_accounts_phone_e164"),
        sa.CheckConstraint(
            "status = 'deregistered' OR email IS NOT NULL OR phone IS NOT NULL",
            name="ck_accounts_identifier_while_open",
        ),
        sa.CheckConstraint(
            "status = 'deregistered' OR password_hash IS NOT NULL",
            name="ck_accounts_password_while_open",
        ),
        sa.CheckConstraint("email = lower(email)", name="ck_accounts_email_lower_case"),
        sa.CheckConstraint(
            "erased_at IS NULL OR (email IS NULL AND phone IS NULL AND password_hash IS NULL)",
            name="ck_accounts_erased_means_empty",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["subjects.id"], name="fk_accounts_id_subjects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("phone", name="uq_accounts_phone"),
    )
    op.create_index(
        "ix_accounts_awaiting_guardian",
        "accounts",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'awaiting_guardian'"),
    )
    op.create_table(
        "account_deregistration_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum("completed", "refused", name="account_deregistration_outcome"),
            nullable=True,
        ),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "refusal_reason IS NULL OR refusal_reason ~ '^[a-z_]{1,64}$'",
            name="ck_account_deregistration_requests_reason_is_code",
        ),
        sa.CheckConstraint(
            "(closed_at IS NULL) = (outcome IS NULL)",
            name="ck_account_deregistration_requests_outcome_dated",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_deregistration_requests_account_id_accounts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_deregistration_requests"),
    )
    op.create_index(
        "ix_account_deregistration_requests_account_id",
        "account_deregistration_requests",
        ["account_id"],
        unique=False,
    )
    op.create_table(
        "account_guardians",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("child_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "decision",
            sa.Enum("granted", "refused", name="account_guardian_decision"),
            nullable=True,
        ),
        sa.Column("consent_event_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "(decided_at IS NULL) = (decision IS NULL)", name="ck_account_guardians_decision_dated"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["accounts.id"],
            name="fk_account_guardians_child_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["subjects.id"], name="fk_account_guardians_id_subjects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_guardians"),
        sa.UniqueConstraint("child_id", name="uq_account_guardians_child_id"),
    )
    op.create_table(
        "account_identities",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_subject", sa.Text(), nullable=False),
        sa.Column("access_token", sa.LargeBinary(), nullable=False),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("share_with", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_identities_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_identities"),
        sa.UniqueConstraint("account_id", "provider", name="uq_account_identities_account"),
        sa.UniqueConstraint("provider", "provider_subject", name="uq_account_identities_subject"),
    )
    op.create_index(
        "ix_account_identities_account_id", "account_identities", ["account_id"], unique=False
    )
    op.create_table(
        "account_oidc_flows",
        sa.Column("state_hash", sa.LargeBinary(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("share_with", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_oidc_flows_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name="pk_account_oidc_flows"),
    )
    op.create_index(
        "ix_account_oidc_flows_account_id", "account_oidc_flows", ["account_id"], unique=False
    )
    op.create_table(
        "account_profiles",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("nickname", sa.Text(), nullable=True),
        sa.Column("avatar", sa.LargeBinary(), nullable=True),
        sa.Column("avatar_type", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_profiles_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_profiles"),
    )
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("refresh_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum(
                "signed_out",
                "rotated",
                "password_changed",
                "password_reset",
                "reuse_detected",
                "locked",
                "deregistered",
                name="account_session_end_reason",
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (end_reason IS NULL)", name="ck_account_sessions_end_has_reason"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_sessions_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_sessions"),
        sa.UniqueConstraint("refresh_hash", name="uq_account_sessions_refresh_hash"),
        sa.UniqueConstraint("token_hash", name="uq_account_sessions_token_hash"),
    )
    op.create_index(
        "ix_account_sessions_account_id", "account_sessions", ["account_id"], unique=False
    )
    op.create_index(
        "ix_account_sessions_family_id", "account_sessions", ["family_id"], unique=False
    )
    op.create_table(
        "account_verifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "verify_email", "verify_phone", "password_reset", name="account_verification_kind"
            ),
            nullable=False,
        ),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_verifications_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_verifications"),
    )
    op.create_index(
        "ix_account_verifications_account_id", "account_verifications", ["account_id"], unique=False
    )
    op.create_index(
        "uq_account_verifications_live",
        "account_verifications",
        ["account_id", "kind"],
        unique=True,
        postgresql_where=sa.text("consumed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_account_verifications_live",
        table_name="account_verifications",
        postgresql_where=sa.text("consumed_at IS NULL"),
    )
    op.drop_index("ix_account_verifications_account_id", table_name="account_verifications")
    op.drop_table("account_verifications")
    op.drop_index("ix_account_sessions_family_id", table_name="account_sessions")
    op.drop_index("ix_account_sessions_account_id", table_name="account_sessions")
    op.drop_table("account_sessions")
    op.drop_table("account_profiles")
    op.drop_index("ix_account_oidc_flows_account_id", table_name="account_oidc_flows")
    op.drop_table("account_oidc_flows")
    op.drop_index("ix_account_identities_account_id", table_name="account_identities")
    op.drop_table("account_identities")
    op.drop_table("account_guardians")
    op.drop_index(
        "ix_account_deregistration_requests_account_id",
        table_name="account_deregistration_requests",
    )
    op.drop_table("account_deregistration_requests")
    op.drop_index(
        "ix_accounts_awaiting_guardian",
        table_name="accounts",
        postgresql_where=sa.text("status = 'awaiting_guardian'"),
    )
    op.drop_table("accounts")
    op.drop_table("account_rate_limits")
    for name in _ENUMS:
        op.execute(sa.text(f"DROP TYPE IF EXISTS {name}"))
