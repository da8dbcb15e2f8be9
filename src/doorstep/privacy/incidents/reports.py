"""The obligations' life: filing and acknowledgement, withholding, reminders, the report.

* :func:`file_report` / :func:`acknowledge` move a regulator report from
  ``draft`` to ``filed`` (with the filing time and the authority's reference)
  to ``acknowledged`` (CPE-IV.7.d);
* :func:`withhold` records the one ground that may delay the subjects' notice:
  a legal one, with the authority that asked, its legal reference and the date
  it lapses (decision 0018); no other reason exists in the code;
* :func:`sweep` (hourly, :mod:`.tasks`) copies delivery outcomes, reminds of
  obligations due within ``incident_reminder_hours`` and raises the overdue
  alert once for each obligation past its clock: an audit event
  ``incident.obligation_overdue`` (outcome ``alert``), a warning in the log
  (ids only), and the console's red mark;
* :func:`regulator_report` is what the desk files with an authority: the
  incident, its scope by name, counts, the measures, the clock — never a
  value of anyone's data.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.locale import SOURCE
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.incidents.affected import counts_by_jurisdiction
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import (
    NOTICE_PARTS,
    IncidentTask,
    Notice,
    Obligation,
    Party,
    ReportStatus,
)
from doorstep.privacy.incidents.outcomes import settle, sync_deliveries
from doorstep.privacy.incidents.services import audit, get

log = logging.getLogger("doorstep.incidents")
SWEEP_ACTOR = "system:incidents.sweep"
_REFERENCE = r"^[A-Za-z0-9/_.:-]{1,64}$"


def obligation(session: Session, obligation_id: uuid.UUID, *, lock: bool = False) -> Obligation:
    """The obligation ``obligation_id``; NotFoundError when there is none."""
    query = sa.select(Obligation).where(Obligation.id == obligation_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise NotFoundError("there is no such obligation", obligation=str(obligation_id))
    return found


def obligations(session: Session, incident_id: uuid.UUID) -> list[Obligation]:
    """The incident's obligations, by jurisdiction, authority first."""
    return list(
        session.execute(
            sa.select(Obligation)
            .where(Obligation.incident_id == incident_id)
            .order_by(Obligation.jurisdiction, Obligation.party)
        ).scalars()
    )


def is_overdue(row: Obligation, now: datetime) -> bool:
    """Whether ``row`` is still owed and its clock has run out."""
    return row.status in (ReportStatus.DRAFT.value, ReportStatus.OPEN.value) and row.due_at < now


def _report(session: Session, obligation_id: uuid.UUID) -> Obligation:
    row = obligation(session, obligation_id, lock=True)
    if row.party != Party.AUTHORITY.value:
        raise ConflictError("only a regulator report is filed", rule="authority_report")
    return row


def file_report(
    session: Session,
    ctx: IncidentContext,
    obligation_id: uuid.UUID,
    *,
    actor: str,
    reference: str | None = None,
    filed_at: datetime | None = None,
) -> Obligation:
    """Record that the report was filed (``filed_at``: default now, not in the future)."""
    import re

    if reference is not None and not re.match(_REFERENCE, reference):
        raise InvalidInputError(
            "the authority's reference is a code", errors=[{"field": "reference", "rule": "code"}]
        )
    now = ctx.clock.now()
    when = filed_at or now
    if when.tzinfo is None or when > now:
        raise InvalidInputError(
            "the filing time cannot lie in the future",
            errors=[{"field": "filed_at", "rule": "not_in_future"}],
        )
    row = _report(session, obligation_id)
    if row.status != ReportStatus.DRAFT.value:
        raise ConflictError("the report was already filed", state=row.status)
    row.status = ReportStatus.FILED.value
    row.filed_at = when
    row.reference = reference
    session.flush()
    audit(
        session,
        row.incident_id,
        "report_filed",
        actor,
        obligation=str(row.id),
        jurisdiction=row.jurisdiction,
        late=when > row.due_at,
    )
    return row


def acknowledge(
    session: Session, ctx: IncidentContext, obligation_id: uuid.UUID, *, actor: str
) -> Obligation:
    """Record that the authority acknowledged a filed report."""
    row = _report(session, obligation_id)
    if row.status != ReportStatus.FILED.value:
        raise ConflictError("only a filed report can be acknowledged", state=row.status)
    row.status = ReportStatus.ACKNOWLEDGED.value
    row.acknowledged_at = ctx.clock.now()
    session.flush()
    audit(
        session,
        row.incident_id,
        "report_acknowledged",
        actor,
        obligation=str(row.id),
        jurisdiction=row.jurisdiction,
    )
    return row


def withhold(
    session: Session,
    ctx: IncidentContext,
    incident_id: uuid.UUID,
    jurisdiction: str,
    *,
    authority: str,
    legal_reference: str,
    until: datetime,
    actor: str,
) -> Obligation:
    """Delay the notice to ``jurisdiction``'s subjects on a recorded legal ground (decision 0018).

    The authority that asked, the legal reference and the date the ground lapses
    are required; once it lapses the notices go out (the sweep resumes them).
    """
    for field, value in (("authority", authority), ("legal_reference", legal_reference)):
        if not value.strip() or len(value) > 200:
            raise InvalidInputError(
                "a legal ground names the authority and the legal reference",
                errors=[{"field": field, "rule": "required_max_200"}],
            )
    if until.tzinfo is None or until <= ctx.clock.now():
        raise InvalidInputError(
            "the ground must lapse in the future", errors=[{"field": "until", "rule": "future"}]
        )
    get(session, incident_id, lock=True)
    row = session.execute(
        sa.select(Obligation)
        .where(
            Obligation.incident_id == incident_id,
            Obligation.party == Party.SUBJECTS.value,
            Obligation.jurisdiction == jurisdiction,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError("the incident owes no notice in this jurisdiction")
    if row.status != ReportStatus.OPEN.value:
        raise ConflictError("the subjects were already notified", state=row.status)
    row.hold_authority = authority.strip()
    row.hold_reference = legal_reference.strip()
    row.hold_until = until
    session.flush()
    audit(
        session,
        incident_id,
        "notice_withheld",
        actor,
        obligation=str(row.id),
        jurisdiction=jurisdiction,
        until=int(until.timestamp()),
    )
    return row


def sweep(session: Session, ctx: IncidentContext) -> dict[str, int]:
    """Sync deliveries, remind of obligations due soon, alert on overdue ones (once each)."""
    now = ctx.clock.now()
    synced = sync_deliveries(session, ctx)
    owed = [ReportStatus.DRAFT.value, ReportStatus.OPEN.value]
    soon = now + timedelta(hours=ctx.settings.incident_reminder_hours)
    due_soon = (
        session.execute(
            sa.select(Obligation)
            .where(
                Obligation.status.in_(owed),
                Obligation.reminded_at.is_(None),
                Obligation.due_at <= soon,
                Obligation.due_at >= now,
            )
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in due_soon:
        row.reminded_at = now
        audit(
            session,
            row.incident_id,
            "obligation_due_soon",
            SWEEP_ACTOR,
            obligation=str(row.id),
            party=row.party,
            jurisdiction=row.jurisdiction,
        )
    overdue = (
        session.execute(
            sa.select(Obligation)
            .where(
                Obligation.status.in_(owed),
                Obligation.overdue_at.is_(None),
                Obligation.due_at < now,
            )
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in overdue:
        row.overdue_at = now
        audit(
            session,
            row.incident_id,
            "obligation_overdue",
            SWEEP_ACTOR,
            outcome="alert",
            obligation=str(row.id),
            party=row.party,
            jurisdiction=row.jurisdiction,
        )
        log.warning(
            "incident obligation overdue",
            extra={"incident": str(row.incident_id), "obligation": str(row.id), "party": row.party},
        )
    met = 0
    for incident_id in {row.incident_id for row in [*due_soon, *overdue]} | _started(session):
        met += settle(session, ctx, incident_id)
    session.flush()
    return {"synced": synced, "reminded": len(due_soon), "overdue": len(overdue), "met": met}


def _started(session: Session) -> set[uuid.UUID]:
    return set(
        session.execute(
            sa.text(
                "SELECT DISTINCT o.incident_id FROM incident_obligations o "
                "JOIN incidents i ON i.id = o.incident_id "
                "WHERE o.party = 'subjects' AND o.status = 'open' "
                "AND i.notify_started_at IS NOT NULL"
            )
        ).scalars()
    )


def regulator_report(
    session: Session,
    ctx: IncidentContext,
    pack: PolicyPack,
    obligation_id: uuid.UUID,
    *,
    actor: str,
) -> dict[str, Any]:
    """The report of an incident to one authority (GDPR Art. 33(3)'s contents), audited.

    Ids, names, counts and the measures in the desk's words; no personal data.
    """
    row = obligation(session, obligation_id)
    if row.party != Party.AUTHORITY.value:
        raise ConflictError("only a regulator report is exported", rule="authority_report")
    incident = get(session, row.incident_id)
    counts = counts_by_jurisdiction(session, incident.id).get(row.jurisdiction, {})
    notice = session.get(Notice, (incident.id, SOURCE))
    tasks = session.execute(
        sa.select(IncidentTask)
        .where(IncidentTask.incident_id == incident.id)
        .order_by(IncidentTask.kind)
    ).scalars()
    controller = pack.controller
    report: dict[str, Any] = {
        "report": str(row.id),
        "incident": str(incident.id),
        "authority": row.authority,
        "jurisdiction": row.jurisdiction,
        "controller": None
        if controller is None
        else {
            "name": controller.name,
            "email": controller.email,
            "address": controller.address,
            "dpo": None
            if controller.dpo is None
            else {
                "name": controller.dpo.name,
                "email": controller.dpo.email,
            },
        },
        "nature": {
            "type": incident.kind,
            "aware_at": incident.aware_at.isoformat(),
            "window_start": None
            if incident.window_start is None
            else incident.window_start.isoformat(),
            "window_end": None if incident.window_end is None else incident.window_end.isoformat(),
            "systems": list(incident.systems),
            "elements": list(incident.elements),
            "device_models": list(incident.device_models),
            "devices": len(incident.device_ids),
            "risk": incident.risk,
        },
        "subjects": {
            "affected": sum(counts.values()),
            "notified": counts.get("notified", 0),
            "unreachable": counts.get("unreachable", 0),
            "pending": counts.get("pending", 0),
            "affected_all_jurisdictions": incident.affected_count,
        },
        "notice": None
        if notice is None
        else {name: getattr(notice, name) for name in NOTICE_PARTS},
        "emergency_plan": {
            task.kind: None if task.done_at is None else task.done_at.isoformat() for task in tasks
        },
        "clock": {
            "due_at": row.due_at.isoformat(),
            "status": row.status,
            "filed_at": None if row.filed_at is None else row.filed_at.isoformat(),
            "late": (row.filed_at or ctx.clock.now()) > row.due_at,
        },
    }
    audit(
        session,
        incident.id,
        "report_exported",
        actor,
        obligation=str(row.id),
        jurisdiction=row.jurisdiction,
    )
    return report


def report_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown, for an authority's web form or a letter."""
    nature, subjects, clock = report["nature"], report["subjects"], report["clock"]
    lines = [
        f"# Personal data breach report {report['report']}",
        "",
        f"- Authority: {report['authority']} ({report['jurisdiction']})",
        f"- Incident: {report['incident']} ({nature['type']}, "
        f"risk {nature['risk'] or 'not rated'})",
        f"- Aware since: {nature['aware_at']}; due: {clock['due_at']}; status: {clock['status']}",
        f"- Window: {nature['window_start'] or 'unknown'} to {nature['window_end'] or 'recording'}",
        f"- Systems: {', '.join(nature['systems']) or 'none named'}",
        f"- Data elements: {', '.join(nature['elements']) or 'none named'}",
        f"- Device models: {', '.join(nature['device_models']) or 'none named'}",
        f"- Subjects affected here: {subjects['affected']} (notified {subjects['notified']}, "
        f"unreachable {subjects['unreachable']}, pending {subjects['pending']})",
    ]
    controller = report.get("controller")
    if controller:
        lines.append(
            f"- Controller: {controller['name']}, {controller['email']}, {controller['address']}"
        )
    notice = report.get("notice")
    if notice:
        titles = {
            "basic_situation": "What happened",
            "possible_impact": "Likely consequences",
            "measures": "Measures taken or proposed",
            "self_protection_advice": "Advice to the subjects",
            "remedies": "Remedies",
        }
        for name, title in titles.items():
            lines += ["", f"## {title}", "", str(notice.get(name) or "")]
    return "\n".join(lines) + "\n"
