"""Leases on connected-system tasks, so one attempt may carry several subjects.

``request_systems.leased_by`` names the attempt (a job id, or another owner's
token) that marked the task ``running``; ``lease_until`` is when that claim
lapses.  An attempt takes fresh pending tasks of the same system with it
(decision 0048); a task's own job that finds it held under a live lease of
another attempt leaves it alone, and the holder's retried job, or any attempt
after the lease lapses, does it again.  Both columns are empty outside an attempt.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request_systems", sa.Column("leased_by", sa.Text(), nullable=True))
    op.add_column(
        "request_systems", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_request_systems_fresh",
        "request_systems",
        ["system", "operation", "created_at"],
        postgresql_where=sa.text("state = 'pending' AND attempts = 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_request_systems_fresh", table_name="request_systems")
    op.drop_column("request_systems", "lease_until")
    op.drop_column("request_systems", "leased_by")
