"""Prepared exports of access/portability requests; corrections' element, new value, old hash.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subject_requests", sa.Column("element", sa.Text(), nullable=True))
    op.add_column("subject_requests", sa.Column("new_value", sa.LargeBinary(), nullable=True))
    op.add_column("subject_requests", sa.Column("old_value_hash", sa.LargeBinary(), nullable=True))
    op.create_table(
        "request_exports",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_requests.id"],
            name="fk_request_exports_request_id_subject_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_request_exports"),
    )
    op.create_index("ix_request_exports_subject_id", "request_exports", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_request_exports_subject_id", table_name="request_exports")
    op.drop_table("request_exports")
    op.drop_column("subject_requests", "old_value_hash")
    op.drop_column("subject_requests", "new_value")
    op.drop_column("subject_requests", "element")
