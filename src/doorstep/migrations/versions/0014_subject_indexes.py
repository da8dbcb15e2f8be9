"""Full indexes on the subject links the erasure cascade and the export read.

``device_bindings.subject_id`` had only a partial index (open bindings), so a
subject's erasure (ON DELETE CASCADE) and export (PPPoE through the bindings)
scanned the whole ledger: 45-55 ms per subject on a million bindings.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_device_bindings_subject_id", "device_bindings", ["subject_id"])
    op.drop_index("ix_device_bindings_open_subject", table_name="device_bindings")
    op.create_index("ix_restrictions_subject_id", "restrictions", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_restrictions_subject_id", table_name="restrictions")
    op.create_index(
        "ix_device_bindings_open_subject",
        "device_bindings",
        ["subject_id"],
        postgresql_where=sa.text("unbound_at IS NULL"),
    )
    op.drop_index("ix_device_bindings_subject_id", table_name="device_bindings")
