"""What each device model and firmware supports, and which registration fields a device does not provide.

* ``device_capabilities``: one row per (model, firmware version), learnt by
  GetSupportedDM on the first contact of a unit of that model and firmware: the
  Doorstep functions its data model supports and, for each one it lacks, the
  TR-181 path it lacks (decision 0028).  Not personal: product names only.
* ``device_registrations.missing_fields``: the names of the six registration
  fields the device did not provide (per-path error, absent or empty), so NULL
  no longer hides why a field is empty.

Going down drops both.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_capabilities",
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("firmware_version", sa.Text(), nullable=False),
        sa.Column("supported", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("unsupported", postgresql.JSONB(), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", "firmware_version", name="pk_device_capabilities"),
    )
    op.add_column(
        "device_registrations",
        sa.Column(
            "missing_fields", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("device_registrations", "missing_fields")
    op.drop_table("device_capabilities")
