"""Home regions, transfer mechanisms, the transfer register and schema drift (privacy.transfers).

* ``subject_regions``: each subject's home country (CPE-VIII.1, CORP-7.1);
* ``transfer_mechanisms``: adequacy, standard contracts, binding rules and
  subjects' consents to transfers (CPE-VIII.2, CORP-7.4);
* ``transfers``: the transfer register (CPE-VIII.*, CORP-7.3);
* ``schema_drift``: counts of undeclared fields dropped at ingestion (CPE-IV.3.a).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_ENUMS = {
    "transfer_mechanism_kind": ("adequacy", "standard_contract", "binding_rules", "consent"),
    "drift_source": ("device", "client"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*_ENUMS[name], name=name, create_type=False)


def _subject_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["subject_id"], ["subjects.id"], name=f"fk_{table}_subject_id_subjects", ondelete="CASCADE"
    )


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _ENUMS:
        _enum(name).create(bind)
    op.create_table(
        "subject_regions",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        _when("recorded_at"),
        _subject_fk("subject_regions"),
        sa.PrimaryKeyConstraint("subject_id", name="pk_subject_regions"),
    )
    op.create_table(
        "transfer_mechanisms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("transfer_mechanism_kind"), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        _when("recorded_at"),
        _when("revoked_at", nullable=True),
        sa.CheckConstraint(
            "(kind = 'consent') = (subject_id IS NOT NULL)",
            name="ck_transfer_mechanisms_consent_names_subject",
        ),
        _subject_fk("transfer_mechanisms"),
        sa.PrimaryKeyConstraint("id", name="pk_transfer_mechanisms"),
    )
    op.create_index("ix_transfer_mechanisms_country", "transfer_mechanisms", ["country"])
    op.create_index("ix_transfer_mechanisms_subject_id", "transfer_mechanisms", ["subject_id"])
    op.create_table(
        "transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("origin", sa.String(2), nullable=False),
        sa.Column("destination", sa.String(2), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("elements", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("mechanism", _enum("transfer_mechanism_kind"), nullable=False),
        sa.Column("mechanism_id", sa.Uuid(), nullable=True),
        sa.Column("deidentified", sa.Boolean(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=True),
        _when("transferred_at"),
        sa.ForeignKeyConstraint(
            ["mechanism_id"],
            ["transfer_mechanisms.id"],
            name="fk_transfers_mechanism_id_transfer_mechanisms",
            ondelete="SET NULL",
        ),
        _subject_fk("transfers"),
        sa.PrimaryKeyConstraint("id", name="pk_transfers"),
    )
    op.create_index("ix_transfers_subject_id", "transfers", ["subject_id"])
    op.create_table(
        "schema_drift",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source", _enum("drift_source"), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        _when("first_seen"),
        _when("last_seen"),
        sa.PrimaryKeyConstraint("id", name="pk_schema_drift"),
        sa.UniqueConstraint("source", "model", "path", "purpose", name="uq_schema_drift_source"),
    )


def downgrade() -> None:
    op.drop_table("schema_drift")
    op.drop_index("ix_transfers_subject_id", table_name="transfers")
    op.drop_table("transfers")
    op.drop_index("ix_transfer_mechanisms_subject_id", table_name="transfer_mechanisms")
    op.drop_index("ix_transfer_mechanisms_country", table_name="transfer_mechanisms")
    op.drop_table("transfer_mechanisms")
    op.drop_table("subject_regions")
    bind = op.get_bind()
    for name in reversed(list(_ENUMS)):
        _enum(name).drop(bind, checkfirst=True)
