"""Privacy inquiries, their correspondents, and the owning queue of requests (issue 14).

* ``subject_kind`` gains ``correspondent``: someone who wrote to the privacy desk
  without an account (decision 0026);
* ``inquiries``: one general privacy question each (CPE-IX.2, CORP-9.1), its
  department queue (CPE-IX.1), its 30-day clock and, sealed with the subject's
  key, the address to answer, the subject line and the question;
* ``subject_requests.queue``: the department queue a request is assigned to at
  intake (CPE-IX.1); requests filed before this revision are assigned to ``dpo``.

Processing under a consent exemption (CORP-1.5) needs no table: the code and the
evidence reference are written to the audit trail with the use.

Going down deletes every inquiry and every correspondent subject (with what
hangs off them) and rebuilds ``subject_kind`` without the value.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_CHANNEL = postgresql.ENUM("app", "web_form", "email", name="inquiry_channel", create_type=False)


def upgrade() -> None:
    # Allowed inside a transaction (PostgreSQL 12+); nothing here uses the new value.
    op.execute("ALTER TYPE subject_kind ADD VALUE IF NOT EXISTS 'correspondent'")
    _CHANNEL.create(op.get_bind())
    op.create_table(
        "inquiries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("channel", _CHANNEL, nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.LargeBinary(), nullable=True),
        sa.Column("title", sa.LargeBinary(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_inquiries_subject_id_subjects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inquiries"),
    )
    op.create_index("ix_inquiries_subject_id", "inquiries", ["subject_id"])
    op.create_index("ix_inquiries_due_at", "inquiries", ["due_at"])
    op.add_column(
        "subject_requests",
        sa.Column("queue", sa.Text(), nullable=False, server_default="dpo"),
    )
    op.alter_column("subject_requests", "queue", server_default=None)


def downgrade() -> None:
    op.drop_column("subject_requests", "queue")
    op.drop_index("ix_inquiries_due_at", table_name="inquiries")
    op.drop_index("ix_inquiries_subject_id", table_name="inquiries")
    op.drop_table("inquiries")
    _CHANNEL.drop(op.get_bind())
    # PostgreSQL cannot drop an enum value: rebuild the type from its other labels.
    op.execute(
        "DELETE FROM subject_keys WHERE subject_id IN "
        "(SELECT id FROM subjects WHERE kind = 'correspondent')"
    )
    op.execute("DELETE FROM subjects WHERE kind = 'correspondent'")
    op.execute(
        """
        DO $$
        DECLARE labels text;
        BEGIN
            SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder)
              INTO labels
              FROM pg_enum
             WHERE enumtypid = 'subject_kind'::regtype AND enumlabel <> 'correspondent';
            ALTER TYPE subject_kind RENAME TO subject_kind_before_0021;
            EXECUTE format('CREATE TYPE subject_kind AS ENUM (%s)', labels);
            ALTER TABLE subjects
                ALTER COLUMN kind TYPE subject_kind USING kind::text::subject_kind;
            DROP TYPE subject_kind_before_0021;
        END $$;
        """
    )
