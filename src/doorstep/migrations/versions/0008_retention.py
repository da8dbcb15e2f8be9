"""Retention: a sanctioned path for pruning the audit trail; no tables.

``audit_events`` and ``audit_chain`` stay append-only (migration 0002) except
for one kind of DELETE: inside a transaction that has run
``SET LOCAL doorstep.audit_prune = '<seq>'`` (``doorstep.audit.services.prune``
does), where ``<seq>`` is a checkpoint.  Then

* the statement-level guard lets a DELETE on those two tables through (UPDATE
  and TRUNCATE stay refused, and ``audit_checkpoints`` stays untouchable);
* an AFTER DELETE check on ``audit_chain`` refuses the statement unless a
  checkpoint exists at ``<seq>`` and every deleted link is at or below it;
* an AFTER DELETE check on ``audit_events`` refuses the statement if a deleted
  event was still waiting to be sealed or is still linked.

The partial indexes the sweeps read are created by each owning area's
migration, next to its table (docs/retention.md lists them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_GUARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ('audit_events', 'audit_chain')
       AND coalesce(current_setting('doorstep.audit_prune', true), '') <> '' THEN
        RETURN NULL;  -- a prune: the AFTER DELETE checks look at every deleted row
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed; record a new event instead';
END
$$
"""

_ORIGINAL_GUARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed; record a new event instead';
END
$$
"""

_CHECK_LINKS = """
CREATE FUNCTION audit_check_pruned_links() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    upto bigint := nullif(current_setting('doorstep.audit_prune', true), '')::bigint;
BEGIN
    IF upto IS NULL
       OR NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq = upto)
       OR EXISTS (SELECT 1 FROM gone WHERE seq > upto) THEN
        RAISE EXCEPTION 'audit prune refused: links go only up to a checkpoint'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'prune with doorstep.audit.services.prune';
    END IF;
    RETURN NULL;
END
$$
"""

_CHECK_EVENTS = """
CREATE FUNCTION audit_check_pruned_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('doorstep.audit_prune', true), '') = ''
       OR EXISTS (SELECT 1 FROM gone g JOIN audit_pending p ON p.event_id = g.id)
       OR EXISTS (SELECT 1 FROM gone g JOIN audit_chain c ON c.event_id = g.id) THEN
        RAISE EXCEPTION 'audit prune refused: only events whose links were pruned may go'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'prune with doorstep.audit.services.prune';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(_GUARD)
    op.execute(_CHECK_LINKS)
    op.execute(_CHECK_EVENTS)
    op.execute(
        "CREATE TRIGGER audit_chain_prune_check AFTER DELETE ON audit_chain "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_check_pruned_links()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_prune_check AFTER DELETE ON audit_events "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_check_pruned_events()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_events_prune_check ON audit_events")
    op.execute("DROP TRIGGER audit_chain_prune_check ON audit_chain")
    op.execute("DROP FUNCTION audit_check_pruned_events()")
    op.execute("DROP FUNCTION audit_check_pruned_links()")
    op.execute(_ORIGINAL_GUARD)
