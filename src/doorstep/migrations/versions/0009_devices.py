"""Devices: inventory (credentials, claim hashes), registration records, the binding ledger,
encrypted PPPoE credentials and claim limits.

The binding ledger is append-only but for ending a binding once: a row trigger
allows an UPDATE only when it sets ``unbound_at`` and ``end_reason`` of an open row
and changes nothing else, and a DELETE only when the row's subject is gone (erasure
cascades); a statement trigger refuses TRUNCATE.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ENUMS = ("device_bind_method", "device_binding_end", "device_product_type")

LEDGER = """
CREATE FUNCTION device_bindings_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.unbound_at IS NULL AND NEW.unbound_at IS NOT NULL
           AND (NEW.id, NEW.device_id, NEW.subject_id, NEW.method, NEW.bound_at)
               IS NOT DISTINCT FROM (OLD.id, OLD.device_id, OLD.subject_id, OLD.method,
                                     OLD.bound_at) THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        -- Rows leave only with their subject (erasure cascades here).
        IF NOT EXISTS (SELECT 1 FROM subjects WHERE id = OLD.subject_id) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'device_bindings is a ledger: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER device_bindings_ledger
    BEFORE UPDATE OR DELETE ON device_bindings
    FOR EACH ROW EXECUTE FUNCTION device_bindings_ledger();
CREATE TRIGGER device_bindings_no_truncate
    BEFORE TRUNCATE ON device_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION device_bindings_ledger();
"""


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("endpoint_key", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("claim_hash", sa.LargeBinary(), nullable=False),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claim_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("claim_hash", name=op.f("uq_devices_claim_hash")),
        sa.UniqueConstraint("endpoint_key", name=op.f("uq_devices_endpoint_key")),
    )
    op.create_table(
        "device_registrations",
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=True),
        sa.Column("mtp", sa.Text(), nullable=True),
        sa.Column("mqtt_topic", sa.Text(), nullable=True),
        sa.Column("mqtt_v5", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("firmware_version", sa.Text(), nullable=True),
        sa.Column("serial_number", sa.Text(), nullable=True),
        sa.Column("mac_address", sa.Text(), nullable=True),
        sa.Column("network_status", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column(
            "product_type",
            sa.Enum("router", "gateway", name="device_product_type"),
            nullable=True,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("offline_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_registrations_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_registrations")),
        sa.UniqueConstraint("endpoint_id", name=op.f("uq_device_registrations_endpoint_id")),
    )
    op.create_index(
        "ix_device_registrations_offline_since",
        "device_registrations",
        ["offline_since"],
        unique=False,
        postgresql_where=sa.text("anonymised_at IS NULL"),
    )
    op.create_index(
        "ix_device_registrations_online_last_seen",
        "device_registrations",
        ["last_seen"],
        unique=False,
        postgresql_where=sa.text("online"),
    )
    op.create_table(
        "device_bindings",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.Enum("qr", "manual", name="device_bind_method"), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum("unbound", "anonymised", name="device_binding_end"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(unbound_at IS NULL) = (end_reason IS NULL)",
            name=op.f("ck_device_bindings_end_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_bindings_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_device_bindings_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_bindings")),
    )
    op.create_index(
        "ix_device_bindings_open_subject",
        "device_bindings",
        ["subject_id"],
        unique=False,
        postgresql_where=sa.text("unbound_at IS NULL"),
    )
    op.create_index(
        "uq_device_bindings_open_device",
        "device_bindings",
        ["device_id"],
        unique=True,
        postgresql_where=sa.text("unbound_at IS NULL"),
    )
    op.execute(LEDGER)
    op.create_table(
        "device_pppoe",
        sa.Column("binding_id", sa.UUID(), nullable=False),
        sa.Column("interface", sa.Integer(), nullable=False),
        sa.Column("username", sa.LargeBinary(), nullable=False),
        sa.Column("password", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["device_bindings.id"],
            name=op.f("fk_device_pppoe_binding_id_device_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("binding_id", name=op.f("pk_device_pppoe")),
    )
    op.create_table(
        "device_claim_limits",
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_device_claim_limits_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_device_claim_limits")),
    )


def downgrade() -> None:
    op.drop_table("device_claim_limits")
    op.drop_table("device_pppoe")
    op.execute("DROP TRIGGER IF EXISTS device_bindings_no_truncate ON device_bindings")
    op.execute("DROP TRIGGER IF EXISTS device_bindings_ledger ON device_bindings")
    op.execute("DROP FUNCTION IF EXISTS device_bindings_ledger()")
    op.drop_index("uq_device_bindings_open_device", table_name="device_bindings")
    op.drop_index("ix_device_bindings_open_subject", table_name="device_bindings")
    op.drop_table("device_bindings")
    op.drop_index("ix_device_registrations_online_last_seen", table_name="device_registrations")
    op.drop_index("ix_device_registrations_offline_since", table_name="device_registrations")
    op.drop_table("device_registrations")
    op.drop_table("devices")
    for name in _ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {name}")
