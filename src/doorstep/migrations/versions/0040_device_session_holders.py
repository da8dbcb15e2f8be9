"""Which ``serve`` replica holds each device's WebSocket session (decision 0047).

* ``device_relay_replicas``: each running replica with the relay on and its lease;
* ``device_session_holders``: the replica holding a device's session now (one row per
  device, gone with the session, the device or the replica).

Going down drops both; nothing else refers to them.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_relay_replicas",
        sa.Column("replica", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replica", name="pk_device_relay_replicas"),
    )
    op.create_table(
        "device_session_holders",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("replica", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_device_session_holders_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replica"],
            ["device_relay_replicas.replica"],
            name="fk_device_session_holders_replica_device_relay_replicas",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name="pk_device_session_holders"),
    )
    op.create_index("ix_device_session_holders_replica", "device_session_holders", ["replica"])


def downgrade() -> None:
    op.drop_index("ix_device_session_holders_replica", table_name="device_session_holders")
    op.drop_table("device_session_holders")
    op.drop_table("device_relay_replicas")
