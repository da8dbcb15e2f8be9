"""What came of the notices: outbox outcomes copied to the deliveries, obligations settled.

:func:`sync_deliveries` copies the outbox's final states into
``incident_deliveries`` and makes a subject whose every message failed
``unreachable``; :func:`settle` marks a jurisdiction's subjects' obligation met
once no subject of it is pending and every unreachable one is covered by a
public notice.  Both are set-based statements, run by the fan-out, the desk,
the sweep and the views; both are idempotent.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import NoticeStatus
from doorstep.privacy.incidents.services import audit

#: The fan-out job (declared in :mod:`.tasks`, enqueued by :func:`.fanout.start`).
NOTIFY_TASK = "incidents.notify"
#: The audit trail's actor for what the fan-out and the settling do on their own.
ACTOR = f"system:{NOTIFY_TASK}"


def count_subjects(session: Session, incident_id: uuid.UUID, status: NoticeStatus) -> int:
    """How many of the incident's affected subjects have notice status ``status``."""
    return int(
        session.execute(
            sa.text(
                "SELECT count(*) FROM incident_subjects WHERE incident_id = :i AND status = :s"
            ),
            {"i": incident_id, "s": status.value},
        ).scalar_one()
    )


def settle(session: Session, ctx: IncidentContext, incident_id: uuid.UUID) -> int:
    """Mark the subjects' obligations met where no subject is pending and every unreachable one
    is covered by a public notice or none is left; return how many were met."""
    result = session.execute(
        sa.text(
            "UPDATE incident_obligations o SET status = 'met', met_at = :now "
            "WHERE o.incident_id = :i AND o.party = 'subjects' AND o.status = 'open' "
            "AND (o.hold_until IS NULL OR o.hold_until <= :now) "
            "AND NOT EXISTS (SELECT 1 FROM incident_subjects s WHERE s.incident_id = :i "
            "  AND s.jurisdiction = o.jurisdiction AND (s.status = 'pending' "
            "  OR (s.status = 'unreachable' AND NOT EXISTS ("
            "    SELECT 1 FROM incident_public_notices p WHERE p.incident_id = :i))))"
        ),
        {"i": incident_id, "now": ctx.clock.now()},
    )
    met = int(getattr(result, "rowcount", 0))
    if met:
        audit(session, incident_id, "subjects_notified", ACTOR, jurisdictions=met)
    return met


def sync_deliveries(
    session: Session, ctx: IncidentContext, *, incident_id: uuid.UUID | None = None
) -> int:
    """Copy the outbox's final states into the deliveries (of ``incident_id`` only, when
    given), and make a subject whose every message failed ``unreachable``; return how many
    deliveries changed."""
    result = session.execute(
        sa.text(
            "UPDATE incident_deliveries d SET status = o.status::text, finished_at = o.finished_at "
            "FROM outbox o WHERE d.outbox_id = o.id AND d.status = 'queued' "
            "AND o.status <> 'queued' "
            "AND (CAST(:i AS uuid) IS NULL OR d.incident_id = CAST(:i AS uuid))"
        ),
        {"i": incident_id},
    )
    changed = int(getattr(result, "rowcount", 0))
    if changed:
        session.execute(
            sa.text(
                "UPDATE incident_subjects s SET status = 'unreachable', notified_at = NULL "
                "WHERE s.status = 'notified' AND EXISTS (SELECT 1 FROM incident_deliveries d "
                "  WHERE d.incident_id = s.incident_id AND d.subject_id = s.subject_id) "
                "AND NOT EXISTS (SELECT 1 FROM incident_deliveries d "
                "  WHERE d.incident_id = s.incident_id AND d.subject_id = s.subject_id "
                "  AND d.status IN ('queued', 'sent', 'task_open', 'done'))"
            )
        )
    return changed
