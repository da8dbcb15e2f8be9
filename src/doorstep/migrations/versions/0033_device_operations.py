"""Fleet operations and firmware images (decision 0038).

* ``device_operations``: one row per action on one device (reboot, parameters,
  firmware update, diagnostic, settings wipe), its origin, purpose, state and
  outcome.  A partial unique index allows one operation in flight (``running`` or
  ``waiting``) per device; ``(origin_id, device_id)`` is unique, so one origin never
  acts twice on a device.
* ``firmware_images``: the images the operator can install: version, models,
  the version range it installs over, size, SHA-256, and a registered URL or an
  uploaded file's name.

Going down drops both tables and the three enum types.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_KIND = ("reboot", "set_parameters", "firmware_update", "diagnostic", "wipe_settings")
_STATE = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")
_ORIGIN = ("rollout", "bulk", "diagnostic", "wipe", "single")
_ENUMS = ("device_operation_kind", "device_operation_state", "device_operation_origin")


def upgrade() -> None:
    op.create_table(
        "firmware_images",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("models", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("min_version", sa.Text(), nullable=True),
        sa.Column("max_version", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("release_notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(url IS NULL) <> (file_name IS NULL)", name="ck_firmware_images_url_or_file"
        ),
        sa.CheckConstraint("size >= 0", name="ck_firmware_images_size_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_firmware_images"),
    )
    op.create_table(
        "device_operations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Enum(*_KIND, name="device_operation_kind"), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("origin_kind", sa.Enum(*_ORIGIN, name="device_operation_origin"), nullable=False),
        sa.Column("origin_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.Enum(*_STATE, name="device_operation_state"), nullable=False),
        sa.Column("step", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("usp_code", sa.Integer(), nullable=True),
        sa.Column("fault", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_seconds", sa.Integer(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_operations_device_id_devices"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_device_operations"),
        sa.UniqueConstraint("origin_id", "device_id", name="uq_device_operations_origin_id"),
    )
    op.create_index(
        "uq_device_operations_active_device",
        "device_operations",
        ["device_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('running', 'waiting')"),
    )
    op.create_index(
        "ix_device_operations_queued",
        "device_operations",
        ["created_at"],
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index(
        "ix_device_operations_check_at",
        "device_operations",
        ["check_at"],
        postgresql_where=sa.text("state = 'waiting'"),
    )
    op.create_index(
        "ix_device_operations_deadline_at",
        "device_operations",
        ["deadline_at"],
        postgresql_where=sa.text("state IN ('queued', 'running', 'waiting')"),
    )
    op.create_index(
        "ix_device_operations_open_device",
        "device_operations",
        ["device_id"],
        postgresql_where=sa.text("state IN ('queued', 'running', 'waiting')"),
    )
    op.create_index("ix_device_operations_origin_id", "device_operations", ["origin_id"])
    op.create_index("ix_device_operations_created_at", "device_operations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_device_operations_created_at", table_name="device_operations")
    op.drop_index("ix_device_operations_origin_id", table_name="device_operations")
    op.drop_index("ix_device_operations_open_device", table_name="device_operations")
    op.drop_index("ix_device_operations_deadline_at", table_name="device_operations")
    op.drop_index("ix_device_operations_check_at", table_name="device_operations")
    op.drop_index("ix_device_operations_queued", table_name="device_operations")
    op.drop_index("uq_device_operations_active_device", table_name="device_operations")
    op.drop_table("device_operations")
    op.drop_table("firmware_images")
    for name in _ENUMS:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
