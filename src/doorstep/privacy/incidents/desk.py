"""What the incident desk's routes and pages share: the role check, the view, the look-ups.

:func:`acting` checks ``manage_incidents`` (a 403, audited, for any other
role); :func:`show` is the desk's view of one incident as of now, its
deliveries' outcomes copied from the outbox first (the hourly sweep does it for
every incident; a view should not wait an hour); :func:`obligation_of` finds an
obligation of the incident (404 for another incident's); :func:`overdue_incidents`
lists incidents with an obligation past its clock.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import NotFoundError
from doorstep.privacy.incidents import outcomes, reports
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import Obligation, ReportStatus
from doorstep.privacy.incidents.schemas import IncidentOut, incident_out
from doorstep.privacy.incidents.views import summary
from doorstep.services import Services
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff, require_action


def acting(session: Session, staff: Staff) -> str:
    """The staff member's actor, once they may manage incidents (else a 403, audited)."""
    return require_action(session, staff.id, StaffAction.MANAGE_INCIDENTS).actor


def show(session: Session, ctx: IncidentContext, incident_id: uuid.UUID) -> IncidentOut:
    """The incident as of now, its deliveries' statuses copied from the outbox first."""
    incident = svc.get(session, incident_id)
    outcomes.sync_deliveries(session, ctx, incident_id=incident.id)
    return incident_out(summary(session, incident, ctx.clock.now()))


def obligation_of(session: Session, incident_id: uuid.UUID, obligation_id: uuid.UUID) -> Obligation:
    """The incident's obligation ``obligation_id``; NotFoundError for another incident's."""
    row = reports.obligation(session, obligation_id)
    if row.incident_id != incident_id:
        raise NotFoundError("the incident has no such obligation", obligation=str(obligation_id))
    return row


def overdue_incidents(session: Session, ctx: IncidentContext) -> set[uuid.UUID]:
    """Incidents with an obligation still owed past its clock."""
    return set(
        session.execute(
            sa.select(Obligation.incident_id).where(
                Obligation.status.in_([ReportStatus.DRAFT.value, ReportStatus.OPEN.value]),
                Obligation.due_at < ctx.clock.now(),
            )
        ).scalars()
    )


def context_of(services: Services) -> IncidentContext:
    """The incident context of the app's services."""
    return IncidentContext.of(services)
