"""Diagnostic runs: ping, trace route and speed tests asked of a device (decision 0041).

* ``diagnostic_runs``: one diagnostic on one device: who asked (the owner, or a staff
  actor), on what ground (``owner``, an after-sales ``ticket`` and its reference, the
  owner's ``consent`` and the ledger event), the purpose, the kind, the subscriber's
  input (a host), whether the pack stores its result, its state, the device's error
  code, the result and the id of the operation that runs it.  Deleted by the retention
  sweep (rule ``diagnostic_result``) counted from ``created_at``.

Going down drops the table and its enums.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_ENUMS = {
    "diagnostic_ground": ("owner", "ticket", "consent"),
    "diagnostic_kind": ("ping", "traceroute", "download", "upload"),
    "diagnostic_run_state": ("queued", "succeeded", "failed", "cancelled"),
}


def _enum(name: str) -> sa.Enum:
    return sa.Enum(*_ENUMS[name], name=name)


def upgrade() -> None:
    op.create_table(
        "diagnostic_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("asked_by", sa.Text(), nullable=False),
        sa.Column("ground", _enum("diagnostic_ground"), nullable=False),
        sa.Column("ground_ref", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("kind", _enum("diagnostic_kind"), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=True),
        sa.Column("store", sa.Boolean(), nullable=False),
        sa.Column("state", _enum("diagnostic_run_state"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("usp_code", sa.Integer(), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_diagnostic_runs_device_id_devices"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_diagnostic_runs"),
    )
    op.create_index(
        "ix_diagnostic_runs_device_created", "diagnostic_runs", ["device_id", "created_at"]
    )
    op.create_index("ix_diagnostic_runs_created_at", "diagnostic_runs", ["created_at"])
    op.create_index("ix_diagnostic_runs_subject_id", "diagnostic_runs", ["subject_id"])


def downgrade() -> None:
    for name in ("subject_id", "created_at", "device_created"):
        op.drop_index(f"ix_diagnostic_runs_{name}", table_name="diagnostic_runs")
    op.drop_table("diagnostic_runs")
    for name in _ENUMS:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
