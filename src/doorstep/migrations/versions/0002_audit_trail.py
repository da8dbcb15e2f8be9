"""Audit trail: events, the queue of unsealed events, the hash chain, checkpoints.

``audit_events``, ``audit_chain`` and ``audit_checkpoints`` are append-only: a
statement-level trigger refuses UPDATE, DELETE and TRUNCATE (even of zero rows),
whoever asks.  Only ``session_replication_role = replica`` (superuser) or
disabling the trigger (owner) bypasses it; the hash chain is what makes such a
bypass visible.  A trigger on ``audit_events`` queues every inserted id in
``audit_pending`` in the same statement, so the sealer finds committed,
unsealed events without scanning the trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_events", "audit_chain", "audit_checkpoints")

_REFUSE = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed; record a new event instead';
END
$$
"""

_QUEUE = """
CREATE FUNCTION audit_queue_for_sealing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_pending (event_id) SELECT id FROM inserted;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("element", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_subject_id", "audit_events", ["subject_id"])
    op.create_table(
        "audit_pending",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_audit_pending"),
    )
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "octet_length(prev_hash) = 32", name=op.f("ck_audit_chain_prev_hash_is_sha256")
        ),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_audit_chain_hash_is_sha256")),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_chain_seq_positive")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name="fk_audit_chain_event_id_audit_events"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_chain"),
        sa.UniqueConstraint("event_id", name="uq_audit_chain_event_id"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "octet_length(hash) = 32", name=op.f("ck_audit_checkpoints_hash_is_sha256")
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_checkpoints"),
    )
    op.execute(_REFUSE)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
    op.execute(_QUEUE)
    op.execute(
        "CREATE TRIGGER audit_events_queue AFTER INSERT ON audit_events "
        "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_queue_for_sealing()"
    )


def downgrade() -> None:
    # Dropping the tables drops their triggers; the trail goes with the schema.
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain")
    op.drop_table("audit_pending")
    op.drop_index("ix_audit_events_subject_id", table_name="audit_events")
    op.drop_table("audit_events")
    op.execute("DROP FUNCTION audit_queue_for_sealing()")
    op.execute("DROP FUNCTION audit_refuse_change()")
