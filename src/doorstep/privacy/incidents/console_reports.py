"""The incident desk's API for obligations: legal holds on a notice, regulator reports.

Under ``/api/v1/console/incidents/{id}`` (``manage_incidents``, see
:mod:`.console`, which mounts this router):

* ``POST …/withholdings`` — delay one jurisdiction's notice on a recorded legal
  ground (decision 0018);
* ``GET …/obligations/{obligation}/report?format=json|md`` — the report to one
  authority as a download (no personal data; the export is audited);
* ``POST …/obligations/{obligation}/filing`` and ``…/acknowledgement`` — draft →
  filed → acknowledged (CPE-IV.7.d).

An obligation of another incident is a 404, as is an unknown one.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from doorstep.core.problems import problem_responses
from doorstep.privacy.incidents import reports
from doorstep.privacy.incidents.desk import acting, context_of, obligation_of
from doorstep.privacy.incidents.schemas import (
    FilingIn,
    ObligationOut,
    WithholdIn,
    obligation_out,
)
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff

router = APIRouter()


@router.post(
    "/{incident_id}/withholdings",
    summary="Delay a jurisdiction's notice on a legal ground",
    responses=problem_responses(422),
)
def withhold(
    incident_id: uuid.UUID,
    body: WithholdIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> ObligationOut:
    """Only a recorded legal ground (authority, reference, lapse) may delay a notice."""
    actor = acting(session, staff)
    ctx = context_of(services)
    row = reports.withhold(
        session,
        ctx,
        incident_id,
        body.jurisdiction,
        authority=body.authority,
        legal_reference=body.legal_reference,
        until=body.until,
        actor=actor,
    )
    return obligation_out(row, ctx.clock.now())


@router.get(
    "/{incident_id}/obligations/{obligation_id}/report",
    summary="Download the report to one authority",
    response_class=Response,
    responses={
        200: {
            "description": "The report (no personal data), as a download.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/markdown": {"schema": {"type": "string"}},
            },
        }
    },
)
def report(
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    *,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    format: Annotated[Literal["json", "md"], Query(description="json or md.")] = "json",
) -> Response:
    """The report's contents (GDPR Art. 33(3)); the export is audited."""
    actor = acting(session, staff)
    obligation_of(session, incident_id, obligation_id)
    data = reports.regulator_report(
        session, context_of(services), services.pack, obligation_id, actor=actor
    )
    name = f"breach-report-{obligation_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "md":
        return Response(reports.report_markdown(data), media_type="text/markdown", headers=headers)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers=headers,
    )


@router.post(
    "/{incident_id}/obligations/{obligation_id}/filing",
    summary="Record that a regulator report was filed",
    responses=problem_responses(422),
)
def file_report(
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    *,
    body: FilingIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> ObligationOut:
    """draft → filed, with the filing time and the authority's reference (CPE-IV.7.d)."""
    actor = acting(session, staff)
    ctx = context_of(services)
    obligation_of(session, incident_id, obligation_id)
    row = reports.file_report(
        session, ctx, obligation_id, actor=actor, reference=body.reference, filed_at=body.filed_at
    )
    return obligation_out(row, ctx.clock.now())


@router.post(
    "/{incident_id}/obligations/{obligation_id}/acknowledgement",
    summary="Record that the authority acknowledged a report",
)
def acknowledge(
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> ObligationOut:
    """filed → acknowledged."""
    actor = acting(session, staff)
    ctx = context_of(services)
    obligation_of(session, incident_id, obligation_id)
    row = reports.acknowledge(session, ctx, obligation_id, actor=actor)
    return obligation_out(row, ctx.clock.now())
