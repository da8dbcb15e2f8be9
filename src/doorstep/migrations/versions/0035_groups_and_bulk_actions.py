"""Tags, device groups, bulk actions and the fleet list's indexes (decision 0040).

* ``device_tags``: operator labels on registered devices (tag, device); the primary
  key ``(tag, device_id)`` serves the tag filter in device order.
* ``device_groups``: a name and a validated device filter (JSON).
* ``bulk_actions``: one action on a group's devices: kind, arguments, a copy of the
  filter, throttle, purpose, actor, state, keyset cursor and counts.
* ``doorstep_version_key(text) -> numeric[]``: the numbers of a version string in
  order (``1.9`` < ``1.10``), NULL when it has none; IMMUTABLE, one expression (the
  planner inlines it).
* Indexes on ``device_registrations`` for the fleet list's filters in device order
  (keyset pages): ``(model, device_id)`` and ``(firmware_version, device_id)``,
  partial on records not anonymised, which is all the fleet list reads.  A firmware
  range is checked on the rows these (or the primary key) give in id order: an index
  on the version key cannot give id order, and the planner's default estimate for an
  array range (0.5 %) made it sort a whole broad range (bench/bench_fleet.py).

Going down drops the indexes, the tables, the state enum and the function.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_NOT_ANONYMISED = sa.text("anonymised_at IS NULL")
_VERSION_KEY = """
CREATE FUNCTION doorstep_version_key(version text) RETURNS numeric[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(
  string_to_array(trim(BOTH '.' FROM regexp_replace(version, '[^0-9]+', '.', 'g')), '.')::numeric[],
  '{}'::numeric[]
)
"""


def upgrade() -> None:
    op.execute(_VERSION_KEY)
    op.create_table(
        "device_tags",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tagged_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device_registrations.device_id"],
            name="fk_device_tags_device_id_device_registrations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag", "device_id", name="pk_device_tags"),
    )
    op.create_index("ix_device_tags_device_id", "device_tags", ["device_id"])
    op.create_table(
        "device_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("filter", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_groups"),
        sa.UniqueConstraint("name", name="uq_device_groups_name"),
    )
    op.create_table(
        "bulk_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            postgresql.ENUM(name="device_operation_kind", create_type=False),
            nullable=False,
        ),
        sa.Column("args", postgresql.JSONB(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("filter", postgresql.JSONB(), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("running", "finished", "cancelled", name="bulk_action_state"),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("exhausted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("succeeded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "max_in_flight > 0 AND per_minute > 0", name="ck_bulk_actions_throttle_positive"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["device_groups.id"],
            name="fk_bulk_actions_group_id_device_groups",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_actions"),
    )
    op.create_index(
        "ix_bulk_actions_running",
        "bulk_actions",
        ["created_at"],
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_index("ix_bulk_actions_created_at", "bulk_actions", ["created_at"])
    op.create_index(
        "ix_device_registrations_fleet_model",
        "device_registrations",
        ["model", "device_id"],
        postgresql_where=_NOT_ANONYMISED,
    )
    op.create_index(
        "ix_device_registrations_fleet_firmware",
        "device_registrations",
        ["firmware_version", "device_id"],
        postgresql_where=_NOT_ANONYMISED,
    )


def downgrade() -> None:
    for name in ("firmware", "model"):
        op.drop_index(f"ix_device_registrations_fleet_{name}", table_name="device_registrations")
    op.drop_index("ix_bulk_actions_created_at", table_name="bulk_actions")
    op.drop_index("ix_bulk_actions_running", table_name="bulk_actions")
    op.drop_table("bulk_actions")
    sa.Enum(name="bulk_action_state").drop(op.get_bind(), checkfirst=True)
    op.drop_table("device_groups")
    op.drop_index("ix_device_tags_device_id", table_name="device_tags")
    op.drop_table("device_tags")
    op.execute("DROP FUNCTION doorstep_version_key(text)")
