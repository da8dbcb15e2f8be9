"""HTTP API of data-subject requests (thin: parse, call, shape).

* ``/api/v1/me/requests`` — the signed-in subscriber files and follows requests;
* ``/api/v1/requests`` — the public form (no sign-in): a ticket, then a code.

The staff console uses the CLI for now (see decision 0014).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.audit.entries import audited_transaction, subject_actor
from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.core.route_names import FILE_REQUEST
from doorstep.privacy.requests import inline, intake
from doorstep.privacy.requests.codes import complaint_route
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.downloads import EXPORT_KINDS, fetch
from doorstep.privacy.requests.models import RequestExport, RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import get
from doorstep.services import ServicesDep, SessionDep

router = APIRouter(
    tags=["requests"],
    # Refused by the gate, not yours, the request's state, attempt limits on codes.
    responses=problem_responses(403, 404, 409, 429),
)
#: The name of the route where the signed-in subscriber files a request (links use it).


class RequestIn(BaseModel):
    """A request filed by the signed-in subscriber."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="access, portability, correction, deletion, restriction, …")
    purpose: str | None = Field(default=None, description="For restriction/objection/withdrawal.")
    ground: str | None = Field(default=None, description="For deletion (CPE-V.3.b).")
    jurisdiction: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description=(
            "Deadline rule: a key of the deployment's requests_periods (default: default, "
            "gdpr); absent, the configured default. Another answers 422 naming this field."
        ),
    )
    element: str | None = Field(
        default=None, description="For correction: the element, e.g. accounts.email."
    )
    value: str | None = Field(
        default=None, max_length=320, description="For correction: the value it should hold."
    )


class PublicRequestIn(RequestIn):
    """A request from the public form: the account's e-mail address besides."""

    email: str = Field(max_length=320)


class RequestOut(BaseModel):
    """A request as its requester sees it."""

    id: uuid.UUID
    kind: str
    status: str
    received_at: datetime
    due_at: datetime
    fee_due: bool
    refusal_code: str | None
    complaint_route: str | None = Field(
        default=None, description="Where to complain, when refused (CPE-IX.4, CORP-9.3)."
    )
    export: str | None = Field(
        default=None,
        description="Access/portability only: preparing, ready (download it) or expired.",
    )
    export_expires_at: datetime | None = None


class TicketOut(BaseModel):
    """The same answer whether or not an account holds the address."""

    ticket: uuid.UUID
    detail: str = "If an account holds this address, we have sent it a code."


class ConfirmIn(BaseModel):
    """The code sent to the address."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=12)


def context_of(services: ServicesDep) -> RequestContext:
    """The state machine's context for the app's services."""
    return RequestContext.of(services)


def _export_state(row: SubjectRequest, stored: RequestExport | None, now: datetime) -> str | None:
    if row.kind not in EXPORT_KINDS or row.status is RequestStatus.REFUSED:
        return None
    if stored is None:
        return "expired" if row.closed_at is not None else "preparing"
    return "ready" if stored.expires_at > now else "expired"


def out(row: SubjectRequest, stored: RequestExport | None = None, *, now: datetime) -> RequestOut:
    """The requester's view of ``row`` (``stored``: its prepared export, if any)."""
    return RequestOut(
        export=_export_state(row, stored, now),
        export_expires_at=stored.expires_at if stored is not None else None,
        id=row.id,
        kind=row.kind.value,
        status=row.status.value,
        received_at=row.received_at,
        due_at=row.due_at,
        fee_due=row.fee_due,
        refusal_code=row.refusal_code,
        complaint_route=complaint_route(row.jurisdiction) if row.refusal_code else None,
    )


@router.post(
    "/api/v1/me/requests",
    status_code=status.HTTP_201_CREATED,
    summary="File a request",
    name=FILE_REQUEST,
)
def file_request(
    body: RequestIn, subscriber: CurrentSubscriber, services: ServicesDep
) -> RequestOut:
    """Open a request for the signed-in subscriber (identity proven by the session).

    The request commits first; an automatic export or erasure is then carried out
    before the answer when it can be (decision 0046), else a worker does it.
    """
    ctx = context_of(services)
    with audited_transaction(services.runtime.sessions) as session:
        row = intake.submit_signed_in(
            session,
            ctx,
            subject_id=subscriber.subject_id,
            kind=body.kind,
            purpose=body.purpose,
            ground=body.ground,
            jurisdiction=body.jurisdiction,
            element=body.element,
            value=body.value,
        )
        filed = out(row, now=services.runtime.clock.now())
    done = inline.carry_out(ctx, row.id, row.kind)
    return filed if done is None else out(*done, now=services.runtime.clock.now())


def requests_of(session: Session, subject_id: uuid.UUID, now: datetime) -> list[RequestOut]:
    """A subject's requests with their exports, newest first (one query)."""
    rows = session.execute(
        sa.select(SubjectRequest, RequestExport)
        .outerjoin(RequestExport, RequestExport.request_id == SubjectRequest.id)
        .where(SubjectRequest.subject_id == subject_id)
        .order_by(SubjectRequest.received_at.desc(), SubjectRequest.id)
    )
    return [out(row, stored, now=now) for row, stored in rows]


@router.get("/api/v1/me/requests", summary="My requests")
def my_requests(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> list[RequestOut]:
    """The subscriber's requests, newest first."""
    return requests_of(session, subscriber.subject_id, services.runtime.clock.now())


@router.post(
    "/api/v1/requests", status_code=status.HTTP_202_ACCEPTED, summary="File a request (public)"
)
def file_public(body: PublicRequestIn, services: ServicesDep, session: SessionDep) -> TicketOut:
    """Take a request without sign-in; a code goes to the address if an account holds it."""
    ticket = intake.submit_public(
        session,
        context_of(services),
        email=body.email,
        kind=body.kind,
        purpose=body.purpose,
        ground=body.ground,
        jurisdiction=body.jurisdiction,
        element=body.element,
        value=body.value,
    )
    return TicketOut(ticket=ticket)


@router.post("/api/v1/requests/{ticket}/confirmation", summary="Prove control of the address")
def confirm_public(
    ticket: uuid.UUID, body: ConfirmIn, services: ServicesDep, session: AttemptSession
) -> RequestOut:
    """Enter the code; the request is then verified and its clock runs again."""
    row = intake.confirm_public(session, context_of(services), ticket=ticket, code=body.code)
    return out(row, now=services.runtime.clock.now())


@router.get(
    "/api/v1/me/requests/{request_id}/export",
    summary="Download my data (access, portability)",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}},
        409: {"description": "Still being prepared, or expired (a problem document)."},
    },
)
def download_export(
    request_id: uuid.UUID, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> Response:
    """The ZIP of an answered access or portability request, until it expires."""
    row = get(session, request_id)
    if row.subject_id != subscriber.subject_id:
        raise NotFoundError("no such request", request=str(request_id))
    archive = fetch(session, context_of(services), row, actor=subject_actor(row.subject_id))
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="doorstep-export.zip"'},
    )
