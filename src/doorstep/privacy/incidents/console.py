"""The incident desk's HTTP API (the console pages use the same services; so can other tools).

Under ``/api/v1/console/incidents``, every operation needs ``manage_incidents``
(a privacy officer; any other role gets a 403 problem and the refusal is
audited):

* ``GET …`` — the incidents, newest awareness first (``?open=true``: open ones);
* ``POST …`` — open one (201): type, awareness, window, systems, elements,
  device models, devices, subjects, jurisdictions; the affected subjects are
  computed and the obligations created at once;
* ``GET …/{id}`` — one incident: tasks, affected counts by jurisdiction,
  notices, deliveries per channel and status (copied from the outbox first),
  obligations with their clocks;
* ``POST …/{id}/rating``, ``…/tasks/{task}/done``, ``…/affected`` (compute
  again), ``PUT …/{id}/notices/{locale}``, ``POST …/{id}/notifications`` (start
  the notices, 202: a worker sends them), ``GET …/{id}/deliveries``,
  ``POST …/{id}/public-notices``, ``…/close``;
* withholding, the report downloads, filing and acknowledgement:
  :mod:`.console_reports` (mounted by this router).

Bad input is a 422 problem naming the field and rule, a step the state does not
allow a 409, an unknown incident or obligation a 404; nothing changes then.
Every change is audited (``incident.*``) with the staff member as actor by the
services; the deliveries list (subject ids) is audited here.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from doorstep.core.problems import problem_responses
from doorstep.privacy.incidents import desk_tasks, fanout, outcomes
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.affected import counts_by_jurisdiction
from doorstep.privacy.incidents.console_reports import router as reports_router
from doorstep.privacy.incidents.desk import acting, context_of, overdue_incidents, show
from doorstep.privacy.incidents.notices import missing_parts, set_notice
from doorstep.privacy.incidents.schemas import (
    AffectedOut,
    IncidentIn,
    IncidentOut,
    IncidentSummaryOut,
    NoticeIn,
    NoticeOut,
    PublicNoticeIn,
    PublicNoticeOut,
    RatingIn,
    SubjectStatusOut,
)
from doorstep.privacy.incidents.views import subject_statuses
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff

PREFIX = "/api/v1/console/incidents"
router = APIRouter(
    prefix=PREFIX,
    tags=["console"],
    responses=problem_responses(403, 404, 409),  # the role, no such incident, its state
)
Locale = Annotated[str, Path(max_length=16, pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]
Task = Annotated[Literal["contain", "assess"], Path(description="An emergency-plan task.")]
router.include_router(reports_router)


@router.get("", summary="Incidents, newest first")
def list_incidents(
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    open_only: Annotated[bool, Query(alias="open", description="Only open incidents.")] = False,
) -> list[IncidentSummaryOut]:
    """Incidents, newest awareness first, with their counts and whether one is overdue."""
    acting(session, staff)
    late = overdue_incidents(session, context_of(services))
    return [
        IncidentSummaryOut(
            id=row.id,
            type=row.kind,
            status=row.status,
            risk=row.risk,
            aware_at=row.aware_at,
            opened_at=row.opened_at,
            affected=row.affected_count,
            overdue=row.id in late,
        )
        for row in svc.list_incidents(session, open_only=open_only)
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open an incident",
    responses=problem_responses(422),
)
def open_incident(
    body: IncidentIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> IncidentOut:
    """Open an incident: its tasks, the affected subjects and the obligations, at once."""
    actor = acting(session, staff)
    ctx = context_of(services)
    incident = svc.open_incident(
        session,
        ctx,
        kind=body.type,
        actor=actor,
        aware_at=body.aware_at,
        window_start=body.window_start,
        window_end=body.window_end,
        systems=body.systems,
        elements=body.elements,
        device_models=body.device_models,
        device_ids=body.device_ids,
        subject_ids=body.subject_ids,
        jurisdictions=body.jurisdictions,
    )
    return show(session, ctx, incident.id)


@router.get("/{incident_id}", summary="One incident")
def show_incident(
    incident_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> IncidentOut:
    """Tasks, counts by jurisdiction, notices, deliveries and obligations with their clocks."""
    acting(session, staff)
    return show(session, context_of(services), incident_id)


@router.post("/{incident_id}/rating", summary="Rate the incident's risk")
def rate_incident(
    incident_id: uuid.UUID,
    body: RatingIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> IncidentOut:
    """Rate the risk (CPE-IV.1.e); a new rating replaces the old one."""
    actor = acting(session, staff)
    ctx = context_of(services)
    svc.rate(session, ctx, incident_id, body.risk, actor=actor)
    return show(session, ctx, incident_id)


@router.post("/{incident_id}/tasks/{task}/done", summary="Mark an emergency-plan task done")
def task_done(
    incident_id: uuid.UUID,
    task: Task,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> IncidentOut:
    """Mark contain or assess done (409 when it is done already)."""
    actor = acting(session, staff)
    ctx = context_of(services)
    svc.complete_task(session, ctx, incident_id, task, actor=actor)
    return show(session, ctx, incident_id)


@router.post("/{incident_id}/affected", summary="Compute the affected subjects again")
def compute_affected(
    incident_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> AffectedOut:
    """Add subjects found affected since, and the obligations of new jurisdictions."""
    actor = acting(session, staff)
    incident = svc.get(session, incident_id, lock=True)
    added = svc.recompute(session, context_of(services), incident, actor)
    return AffectedOut(
        added=added,
        affected=incident.affected_count,
        by_jurisdiction=counts_by_jurisdiction(session, incident.id),
    )


@router.put(
    "/{incident_id}/notices/{locale}",
    summary="Write the notice in one language",
    responses=problem_responses(422),
)
def write_notice(
    incident_id: uuid.UUID,
    locale: Locale,
    *,
    body: NoticeIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> NoticeOut:
    """Write the five parts (CPE-IV.7.a); fixed once notices went out (409)."""
    actor = acting(session, staff)
    parts = body.model_dump(exclude_unset=True)
    row = set_notice(session, context_of(services), incident_id, parts, actor=actor, locale=locale)
    return NoticeOut(locale=row.locale, missing=missing_parts(row))


@router.post(
    "/{incident_id}/notifications",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start the notices to the affected",
    responses=problem_responses(422),
)
def start_notices(
    incident_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> IncidentOut:
    """Start (or resume) the notices; a worker sends them by every channel each subject has.

    409 when the incident is not rated or closed; 422 naming the missing part of a notice.
    """
    actor = acting(session, staff)
    ctx = context_of(services)
    fanout.start(session, ctx, incident_id, actor=actor)
    return show(session, ctx, incident_id)


@router.get("/{incident_id}/deliveries", summary="Each affected subject's notice status")
def deliveries(
    incident_id: uuid.UUID,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many.")] = 100,
) -> list[SubjectStatusOut]:
    """Per subject (ids only): jurisdiction, notice status, each channel's status; audited."""
    actor = acting(session, staff)
    ctx = context_of(services)
    incident = svc.get(session, incident_id)
    outcomes.sync_deliveries(session, ctx, incident_id=incident.id)
    rows = subject_statuses(session, incident.id, limit=limit)
    svc.audit(session, incident.id, "deliveries_viewed", actor, count=len(rows))
    return [SubjectStatusOut.model_validate(row) for row in rows]


@router.post(
    "/{incident_id}/public-notices",
    status_code=status.HTTP_201_CREATED,
    summary="Record a public notice and the decision",
    responses=problem_responses(422),
)
def public_notice(
    incident_id: uuid.UUID,
    body: PublicNoticeIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> PublicNoticeOut:
    """A public notice replacing individual contact (CPE-IV.7.c); the decision is logged."""
    actor = acting(session, staff)
    row = desk_tasks.publish_public_notice(
        session, context_of(services), incident_id, url=body.url, reason=body.reason, actor=actor
    )
    return PublicNoticeOut.model_validate(row, from_attributes=True)


@router.post("/{incident_id}/close", summary="Close the incident")
def close(
    incident_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> IncidentOut:
    """Close it once its tasks are done and every obligation is met or filed (409 otherwise)."""
    actor = acting(session, staff)
    ctx = context_of(services)
    svc.close(session, ctx, incident_id, actor=actor)
    return show(session, ctx, incident_id)
