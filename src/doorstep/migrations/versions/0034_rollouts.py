"""Firmware rollouts (decision 0039).

* ``rollouts``: image, target (a group id or a filter), wave plan, caps, failure
  threshold, maintenance window and time zone, deadline, state and totals.
* ``rollout_waves``: one row per planned wave with its counters.
* ``rollout_devices``: the target frozen at start: device, wave, position, state,
  reason, end (the retention rule ``device_operation`` counts from ``finished_at``).

Going down drops the three tables and their three enum types.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_ROLLOUT = ("draft", "running", "paused", "auto_paused", "aborted", "finished")
_WAVE = ("pending", "open", "done")
_MEMBER = ("pending", "queued", "succeeded", "failed", "skipped", "cancelled")
_ENUMS = ("rollout_state", "rollout_wave_state", "rollout_device_state")


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("target_filter", postgresql.JSONB(), nullable=True),
        sa.Column("canary_count", sa.Integer(), nullable=True),
        sa.Column("canary_percent", sa.Float(), nullable=True),
        sa.Column("wave_sizes", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("growth", sa.Float(), nullable=True),
        sa.Column("max_in_flight", sa.Integer(), nullable=False),
        sa.Column("max_per_model", sa.Integer(), nullable=True),
        sa.Column("failure_threshold", sa.Float(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=True),
        sa.Column("window_end", sa.Time(), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("deadline_seconds", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum(*_ROLLOUT, name="rollout_state"), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("current_wave", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wave_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("excluded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(group_id IS NULL) <> (target_filter IS NULL)", name=op.f("ck_rollouts_one_target")
        ),
        sa.CheckConstraint(
            "(window_start IS NULL) = (window_end IS NULL)",
            name=op.f("ck_rollouts_window_both_or_none"),
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["firmware_images.id"], name="fk_rollouts_image_id_firmware_images"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
    )
    op.create_index("ix_rollouts_created_at", "rollouts", ["created_at"])
    op.create_table(
        "rollout_waves",
        sa.Column("rollout_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum(*_WAVE, name="rollout_wave_state"), nullable=False),
        sa.Column("in_flight", sa.Integer(), server_default="0", nullable=False),
        sa.Column("succeeded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failures_accepted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["rollouts.id"],
            name="fk_rollout_waves_rollout_id_rollouts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rollout_id", "number", name="pk_rollout_waves"),
    )
    op.create_table(
        "rollout_devices",
        sa.Column("rollout_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum(*_MEMBER, name="rollout_device_state"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_rollout_devices_device_id_devices"
        ),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["rollouts.id"],
            name="fk_rollout_devices_rollout_id_rollouts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rollout_id", "device_id", name="pk_rollout_devices"),
    )
    op.create_index(
        "ix_rollout_devices_pending",
        "rollout_devices",
        ["rollout_id", "wave", "state", "position"],
    )
    op.create_index(
        "ix_rollout_devices_queued",
        "rollout_devices",
        ["rollout_id"],
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index("ix_rollout_devices_device_id", "rollout_devices", ["device_id"])
    op.create_index("ix_rollout_devices_finished_at", "rollout_devices", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_rollout_devices_finished_at", table_name="rollout_devices")
    op.drop_index("ix_rollout_devices_device_id", table_name="rollout_devices")
    op.drop_index("ix_rollout_devices_queued", table_name="rollout_devices")
    op.drop_index("ix_rollout_devices_pending", table_name="rollout_devices")
    op.drop_table("rollout_devices")
    op.drop_table("rollout_waves")
    op.drop_index("ix_rollouts_created_at", table_name="rollouts")
    op.drop_table("rollouts")
    for name in _ENUMS:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
