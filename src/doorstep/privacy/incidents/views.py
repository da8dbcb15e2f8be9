"""What the desk sees of an incident: ids, names, counts and instants (CLI, API, console)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.incidents.affected import counts_by_jurisdiction
from doorstep.privacy.incidents.models import Incident, IncidentTask, PublicNotice
from doorstep.privacy.incidents.notices import missing_parts, notices
from doorstep.privacy.incidents.reports import is_overdue, obligations


@dataclass(frozen=True, slots=True)
class ObligationView:
    """One obligation and its clock."""

    id: uuid.UUID
    party: str
    jurisdiction: str
    authority: str
    due_at: datetime
    status: str
    overdue: bool
    filed_at: datetime | None
    acknowledged_at: datetime | None
    reference: str | None
    met_at: datetime | None
    withheld_until: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident with its tasks, counts by jurisdiction, deliveries and obligations."""

    id: uuid.UUID
    kind: str
    status: str
    risk: str | None
    aware_at: datetime
    opened_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    systems: list[str]
    elements: list[str]
    device_models: list[str]
    devices: int
    affected: int
    notify_started_at: datetime | None
    tasks: dict[str, datetime | None]
    by_jurisdiction: dict[str, dict[str, int]]
    deliveries: dict[str, dict[str, int]]
    notices: dict[str, list[str]]
    obligations: list[ObligationView]
    public_notices: list[dict[str, object]] = field(default_factory=list)


def summary(session: Session, incident: Incident, now: datetime) -> IncidentView:
    """The view of ``incident`` as of ``now``."""
    tasks = session.execute(
        sa.select(IncidentTask)
        .where(IncidentTask.incident_id == incident.id)
        .order_by(IncidentTask.kind)
    ).scalars()
    deliveries: dict[str, dict[str, int]] = {}
    for row in session.execute(
        sa.text(
            "SELECT channel, status, count(*) AS n FROM incident_deliveries WHERE incident_id = :i "
            "GROUP BY channel, status ORDER BY channel, status"
        ),
        {"i": incident.id},
    ):
        deliveries.setdefault(row.channel, {})[row.status] = int(row.n)
    public = session.execute(
        sa.select(PublicNotice)
        .where(PublicNotice.incident_id == incident.id)
        .order_by(PublicNotice.published_at)
    ).scalars()
    return IncidentView(
        id=incident.id,
        kind=incident.kind,
        status=incident.status,
        risk=incident.risk,
        aware_at=incident.aware_at,
        opened_at=incident.opened_at,
        window_start=incident.window_start,
        window_end=incident.window_end,
        systems=list(incident.systems),
        elements=list(incident.elements),
        device_models=list(incident.device_models),
        devices=len(incident.device_ids),
        affected=incident.affected_count,
        notify_started_at=incident.notify_started_at,
        tasks={task.kind: task.done_at for task in tasks},
        by_jurisdiction=counts_by_jurisdiction(session, incident.id),
        deliveries=deliveries,
        notices={
            locale: missing_parts(row) for locale, row in notices(session, incident.id).items()
        },
        obligations=[
            ObligationView(
                id=row.id,
                party=row.party,
                jurisdiction=row.jurisdiction,
                authority=row.authority,
                due_at=row.due_at,
                status=row.status,
                overdue=is_overdue(row, now),
                filed_at=row.filed_at,
                acknowledged_at=row.acknowledged_at,
                reference=row.reference,
                met_at=row.met_at,
                withheld_until=row.hold_until,
            )
            for row in obligations(session, incident.id)
        ],
        public_notices=[
            {
                "id": str(row.id),
                "url": row.url,
                "reason": row.reason,
                "published_at": row.published_at.isoformat(),
                "unreached": row.unreached,
                "affected": row.affected,
            }
            for row in public
        ],
    )


def subject_statuses(
    session: Session, incident_id: uuid.UUID, *, limit: int = 100
) -> list[dict[str, object]]:
    """Per subject: jurisdiction, notice status and each channel's delivery status (ids only)."""
    rows = session.execute(
        sa.text(
            "SELECT s.subject_id, s.jurisdiction, s.status, "
            "coalesce(json_object_agg(d.channel, d.status) FILTER (WHERE d.id IS NOT NULL), '{}') "
            "AS channels FROM incident_subjects s LEFT JOIN incident_deliveries d "
            "ON d.incident_id = s.incident_id AND d.subject_id = s.subject_id "
            "WHERE s.incident_id = :i GROUP BY s.subject_id, s.jurisdiction, s.status "
            "ORDER BY s.subject_id LIMIT :n"
        ),
        {"i": incident_id, "n": limit},
    )
    return [
        {
            "subject_id": str(row.subject_id),
            "jurisdiction": row.jurisdiction,
            "status": row.status,
            "channels": dict(row.channels),
        }
        for row in rows
    ]
