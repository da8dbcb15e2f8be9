"""Subject keys (envelope encryption): one wrapped data key per subject.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.Text(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("key_version > 0", name="ck_subject_keys_key_version_positive"),
        # RESTRICT: a subject is deleted only after KeyService.destroy removed its key.
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_subject_keys_subject_id_subjects",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("subject_id", name="pk_subject_keys"),
    )
    op.create_index("ix_subject_keys_kek_id", "subject_keys", ["kek_id"])


def downgrade() -> None:
    op.drop_index("ix_subject_keys_kek_id", table_name="subject_keys")
    op.drop_table("subject_keys")
