"""Devices' own time zones for rollouts' maintenance windows (decision 0045).

* ``device_time_zones``: at most one zone per registered device (an IANA name or a
  POSIX TZ string, 1 to 64 characters), who set it and when; deleted with the device's
  registration record (``ON DELETE CASCADE``) and by the retention sweep two years after
  the device went offline.  A device without a row uses each rollout's zone.

Going down drops the table: rollouts then read every window in the rollout's zone again.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_time_zones",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "char_length(time_zone) BETWEEN 1 AND 64",
            name=op.f("ck_device_time_zones_time_zone_length"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device_registrations.device_id"],
            name="fk_device_time_zones_device_id_device_registrations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name="pk_device_time_zones"),
    )


def downgrade() -> None:
    op.drop_table("device_time_zones")
