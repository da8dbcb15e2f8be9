"""The privacy desk's HTTP API (the operator console uses it; so can other tools).

* ``GET /api/v1/console/requests`` — the queue, overdue first (``view_requests``);
* ``GET /api/v1/console/requests/{id}`` — one request;
* ``POST …/{id}/approve``, ``…/refuse``, ``…/extend`` — decisions (``decide_requests``);
  a refusal cancels the connected systems' outstanding work, an extension moves
  the manual tasks' due dates with the deadline (:mod:`.systems.decisions`);
* ``GET /api/v1/console/requests-vocabulary`` — refusal codes and extension reasons.

Staff sign in with a one-time link (:mod:`doorstep.staff.signin`).  Views hold
ids, kinds, states, codes and instants, never a value of the subject's data;
every view and decision is audited with the staff member as actor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.problems import problem_responses
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests import fulfil
from doorstep.privacy.requests.codes import (
    EXTENSION_TEXT,
    REFUSAL_TEXT,
    STAFF_REFUSALS,
    complaint_route,
)
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.department import owner_of
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import AUDIT_PURPOSE, audit, get
from doorstep.privacy.requests.systems.decisions import extend, refuse
from doorstep.privacy.requests.tracking import desk_queue, effective_due, is_overdue
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff, require_action

router = APIRouter(
    prefix="/api/v1/console",
    tags=["console"],
    responses=problem_responses(403, 404, 409),  # the role, no such request, its state
)


class DeskRequest(BaseModel):
    """A request as the privacy desk sees it: ids, codes and instants only."""

    id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    status: str
    channel: str
    jurisdiction: str
    queue: str = Field(description="The department queue the request is assigned to.")
    queue_owner: str = Field(description="Who owns that queue (the pack's department).")
    purpose: str | None
    ground: str | None
    element: str | None = Field(description="For corrections: the element (never its value).")
    received_at: datetime
    due_at: datetime = Field(description="The deadline as of now (a paused clock included).")
    overdue: bool
    paused: bool
    verified_at: datetime | None
    verification: str | None
    extended_months: int
    extension_reason: str | None
    fee_due: bool
    refusal_code: str | None
    complaint_route: str | None
    reviewer: str | None
    closed_at: datetime | None


class RefuseIn(BaseModel):
    """A refusal: one reason code and, for some codes, a reference to the evidence."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="A refusal code (see /api/v1/console/requests-vocabulary).")
    evidence: str | None = Field(default=None, max_length=200)


class ExtendIn(BaseModel):
    """An extension: months and a reason code, told to the requester."""

    model_config = ConfigDict(extra="forbid")
    months: int = Field(ge=1, le=12)
    reason: str


class Vocabulary(BaseModel):
    """What the console's forms offer: refusal codes and extension reasons, with their text."""

    refusal_codes: dict[str, str]
    extension_reasons: dict[str, str]


def view(row: SubjectRequest, now: datetime, pack: PolicyPack | None = None) -> DeskRequest:
    """The desk's view of ``row`` as of ``now``; ``pack`` (the pack in force) names the
    queue's owner (without it, the queue key stands for it)."""
    return DeskRequest(
        id=row.id,
        subject_id=row.subject_id,
        kind=row.kind.value,
        status=row.status.value,
        channel=row.channel.value,
        jurisdiction=row.jurisdiction,
        queue=row.queue,
        queue_owner=owner_of(pack, row.queue) if pack is not None else row.queue,
        purpose=row.purpose,
        ground=row.ground,
        element=row.element,
        received_at=row.received_at,
        due_at=effective_due(row, now),
        overdue=is_overdue(row, now),
        paused=row.paused_since is not None,
        verified_at=row.verified_at,
        verification=row.verification,
        extended_months=row.extended_months,
        extension_reason=row.extension_reason,
        fee_due=row.fee_due,
        refusal_code=row.refusal_code,
        complaint_route=complaint_route(row.jurisdiction) if row.refusal_code else None,
        reviewer=row.reviewer,
        closed_at=row.closed_at,
    )


def queue_view(
    session: Session,
    now: datetime,
    actor: str,
    *,
    status: RequestStatus | None = None,
    overdue_only: bool = False,
    pack: PolicyPack | None = None,
) -> list[DeskRequest]:
    """The desk's queue as of ``now`` (see :func:`desk_queue`); the view is audited."""
    rows = desk_queue(session, now, status=status, overdue_only=overdue_only)
    record(
        session,
        action="requests.queue_viewed",
        actor=actor,
        purpose=AUDIT_PURPOSE,
        details={"count": len(rows)},
    )
    return [view(row, now, pack) for row in rows]


def _acting(session: Session, staff: Staff, action: StaffAction) -> str:
    return require_action(session, staff.id, action).actor


@router.get("/requests", summary="The request queue, overdue first")
def list_requests(
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
    overdue: Annotated[bool, Query(description="Only open requests past their deadline.")] = False,
) -> list[DeskRequest]:
    """Open requests (or those of ``status``), overdue first, then by deadline."""
    actor = _acting(session, staff, StaffAction.VIEW_REQUESTS)
    now = services.runtime.clock.now()
    return queue_view(session, now, actor, status=status, overdue_only=overdue, pack=services.pack)


@router.get("/requests-vocabulary", summary="Refusal codes and extension reasons")
def vocabulary(staff: CurrentStaff) -> Vocabulary:
    """The codes the decision forms offer, with what the requester is told."""
    return Vocabulary(
        refusal_codes={code.value: REFUSAL_TEXT[code] for code in STAFF_REFUSALS},
        extension_reasons={reason.value: text for reason, text in EXTENSION_TEXT.items()},
    )


@router.get("/requests/{request_id}", summary="One request")
def show_request(
    request_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> DeskRequest:
    """One request, as of now; the view is audited."""
    actor = _acting(session, staff, StaffAction.VIEW_REQUESTS)
    row = get(session, request_id)
    audit(session, row, "viewed", actor)
    return view(row, services.runtime.clock.now(), services.pack)


@router.post("/requests/{request_id}/approve", summary="Carry out a request")
def approve_request(
    request_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> DeskRequest:
    """Carry out a verified request (exports and erasures are completed by a worker)."""
    actor = _acting(session, staff, StaffAction.DECIDE_REQUESTS)
    row = fulfil.approve(session, RequestContext.of(services), request_id, actor=actor)
    return view(row, services.runtime.clock.now(), services.pack)


@router.post("/requests/{request_id}/refuse", summary="Refuse a request")
def refuse_request(
    request_id: uuid.UUID,
    body: RefuseIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> DeskRequest:
    """Refuse with a reason code; the requester is told why and where to complain."""
    actor = _acting(session, staff, StaffAction.DECIDE_REQUESTS)
    refuse(
        session,
        RequestContext.of(services),
        request_id,
        code=body.code,
        reviewer=actor,
        evidence=body.evidence,
    )
    return view(get(session, request_id), services.runtime.clock.now(), services.pack)


@router.post("/requests/{request_id}/extend", summary="Extend a request's deadline")
def extend_request(
    request_id: uuid.UUID,
    body: ExtendIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> DeskRequest:
    """Extend the deadline where the jurisdiction allows it, inside the first period."""
    actor = _acting(session, staff, StaffAction.DECIDE_REQUESTS)
    row = extend(
        session,
        RequestContext.of(services),
        request_id,
        months=body.months,
        reason=body.reason,
        actor=actor,
    )
    return view(row, services.runtime.clock.now(), services.pack)
