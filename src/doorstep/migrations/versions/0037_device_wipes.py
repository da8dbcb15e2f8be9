"""Removals of a subscriber's settings from a router, and two more ends of a binding (decision 0042).

* ``device_wipes``: one row per removal (device, subject, trigger, mode, state, parts,
  reason, the router's code, who asked, times).  ``subject_id`` is set to NULL when the
  subject is erased (``ON DELETE SET NULL``); the row stays until the retention sweep.
* ``device_binding_end`` gains ``returned`` and ``resold``: staff mark a device returned
  or resold, which ends its binding.

Going down drops the table and its enums; bindings that ended ``returned`` or ``resold``
become ``unbound`` (the ledger's trigger does not fire on a column's type change).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_TRIGGER = ("unbind", "returned", "resold")
_MODE = ("parameters", "factory_reset")
_STATE = ("pending", "succeeded", "failed")
_ENUMS = ("device_wipe_trigger", "device_wipe_mode", "device_wipe_state")


def upgrade() -> None:
    op.execute("ALTER TYPE device_binding_end ADD VALUE IF NOT EXISTS 'returned'")
    op.execute("ALTER TYPE device_binding_end ADD VALUE IF NOT EXISTS 'resold'")
    op.create_table(
        "device_wipes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("trigger", sa.Enum(*_TRIGGER, name="device_wipe_trigger"), nullable=False),
        sa.Column("mode", sa.Enum(*_MODE, name="device_wipe_mode"), nullable=False),
        sa.Column("state", sa.Enum(*_STATE, name="device_wipe_state"), nullable=False),
        sa.Column("parts", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("usp_code", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_wipes_device_id_devices"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_device_wipes_subject_id_subjects",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_device_wipes"),
    )
    op.create_index("ix_device_wipes_device_id", "device_wipes", ["device_id"])
    op.create_index("ix_device_wipes_subject_id", "device_wipes", ["subject_id"])
    op.create_index("ix_device_wipes_finished_at", "device_wipes", ["finished_at"])
    op.create_index(
        "ix_device_wipes_pending",
        "device_wipes",
        ["device_id"],
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_device_wipes_pending", table_name="device_wipes")
    op.drop_index("ix_device_wipes_finished_at", table_name="device_wipes")
    op.drop_index("ix_device_wipes_subject_id", table_name="device_wipes")
    op.drop_index("ix_device_wipes_device_id", table_name="device_wipes")
    op.drop_table("device_wipes")
    for name in _ENUMS:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
    op.execute("ALTER TYPE device_binding_end RENAME TO device_binding_end_0037")
    op.execute("CREATE TYPE device_binding_end AS ENUM ('unbound', 'anonymised')")
    op.execute(
        "ALTER TABLE device_bindings ALTER COLUMN end_reason TYPE device_binding_end USING "
        "(CASE WHEN end_reason::text IN ('returned', 'resold') THEN 'unbound' "
        "ELSE end_reason::text END)::device_binding_end"
    )
    op.execute("DROP TYPE device_binding_end_0037")
