"""HTTP API of inquiries (thin: parse, call, shape).

* ``POST /api/v1/me/inquiries`` — the signed-in subscriber asks a question;
* ``POST /api/v1/inquiries`` — the public form: a question and the address to answer;
* ``GET /api/v1/console/inquiries`` — the desk's queue, overdue first (``view_requests``);
* ``GET /api/v1/console/inquiries/{id}`` — one inquiry with the question, read through
  the purpose gate (``decide_requests``);
* ``POST /api/v1/console/inquiries/{id}/answer`` — send the answer (``decide_requests``),
  optionally with a published security impact assessment report attached (CPE-IV.5).

Every answer to the asker is the same whether or not an account holds the address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from doorstep.accounts.auth import CurrentSubscriber
from doorstep.audit.services import record
from doorstep.core.problems import problem_responses
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.department import owner_of
from doorstep.privacy.requests.inquiries import desk, intake
from doorstep.privacy.requests.inquiries.models import PURPOSE, Inquiry
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

router = APIRouter(tags=["inquiries"], responses=problem_responses(403, 404, 409))


class InquiryIn(BaseModel):
    """A question from the signed-in subscriber."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=intake.MAX_TITLE)
    body: str = Field(min_length=1, max_length=intake.MAX_BODY, description="The question.")


class PublicInquiryIn(InquiryIn):
    """A question from the public form, with the address to answer."""

    email: str = Field(max_length=320)


class InquiryOut(BaseModel):
    """What the asker is told: the reference and when the answer is due."""

    reference: uuid.UUID
    received_at: datetime
    due_at: datetime


class DeskInquiry(BaseModel):
    """An inquiry as the privacy desk sees it in the queue: ids, codes and instants."""

    id: uuid.UUID
    subject_id: uuid.UUID
    channel: str
    queue: str = Field(description="The department queue the inquiry is assigned to.")
    queue_owner: str = Field(description="Who owns that queue (the pack's department).")
    received_at: datetime
    due_at: datetime
    overdue: bool
    answered_at: datetime | None
    answered_by: str | None


class DeskQuestion(DeskInquiry):
    """One inquiry with what the asker wrote (the read is audited)."""

    title: str | None
    body: str


class InquiryAnswerIn(BaseModel):
    """The desk's answer, sent to the asker by e-mail, optionally with a published report."""

    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=desk.MAX_ANSWER)
    assessment: uuid.UUID | None = Field(
        default=None,
        description="A security impact assessment (its control id) whose published report "
        "the answer carries; a draft is refused (409 not_published).",
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The published version to attach (default: the newest); needs assessment.",
    )


def _out(row: Inquiry) -> InquiryOut:
    return InquiryOut(reference=row.id, received_at=row.received_at, due_at=row.due_at)


def desk_view(row: Inquiry, now: datetime, ctx: RequestContext) -> DeskInquiry:
    """The desk's view of ``row`` as of ``now``."""
    return DeskInquiry(
        id=row.id,
        subject_id=row.subject_id,
        channel=row.channel.value,
        queue=row.queue,
        queue_owner=owner_of(ctx.policy, row.queue),
        received_at=row.received_at,
        due_at=row.due_at,
        overdue=desk.is_overdue(row, now),
        answered_at=row.answered_at,
        answered_by=row.answered_by,
    )


@router.post(
    "/api/v1/me/inquiries", status_code=status.HTTP_201_CREATED, summary="Ask a privacy question"
)
def ask(
    body: InquiryIn, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> InquiryOut:
    """A general privacy question (not a rights request); answered within 30 days."""
    row = intake.submit_signed_in(
        session,
        RequestContext.of(services),
        subject_id=subscriber.subject_id,
        title=body.title,
        body=body.body,
    )
    return _out(row)


@router.post(
    "/api/v1/inquiries",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask a privacy question (public)",
)
def ask_public(body: PublicInquiryIn, services: ServicesDep, session: SessionDep) -> InquiryOut:
    """A question without sign-in; the answer goes to ``email``."""
    row = intake.submit_public(
        session, RequestContext.of(services), email=body.email, title=body.title, body=body.body
    )
    return _out(row)


@router.get("/api/v1/console/inquiries", summary="The inquiry queue, overdue first")
def list_inquiries(
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    overdue: Annotated[bool, Query(description="Only unanswered ones past the deadline.")] = False,
    answered: Annotated[bool, Query(description="Answered ones instead, newest first.")] = False,
) -> list[DeskInquiry]:
    """Unanswered inquiries, overdue first, then by deadline; the view is audited."""
    actor = require_action(session, staff.id, StaffAction.VIEW_REQUESTS).actor
    ctx = RequestContext.of(services)
    now = ctx.clock.now()
    rows = desk.queue(session, now, overdue_only=overdue, answered=answered)
    record(
        session,
        action="inquiries.queue_viewed",
        actor=actor,
        purpose=PURPOSE,
        details={"count": len(rows)},
    )
    return [desk_view(row, now, ctx) for row in rows]


@router.get("/api/v1/console/inquiries/{inquiry_id}", summary="One inquiry and its question")
def show_inquiry(
    inquiry_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> DeskQuestion:
    """The inquiry with the question, read through the purpose gate (audited)."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    ctx = RequestContext.of(services)
    question = desk.read(session, ctx, inquiry_id, actor=actor)
    row = desk.get(session, inquiry_id)
    view = desk_view(row, ctx.clock.now(), ctx)
    return DeskQuestion(**view.model_dump(), title=question.title, body=question.body)


@router.post("/api/v1/console/inquiries/{inquiry_id}/answer", summary="Answer an inquiry by e-mail")
def answer_inquiry(
    inquiry_id: uuid.UUID,
    body: InquiryAnswerIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> DeskInquiry:
    """Send the answer to the asker and close the inquiry (once); with ``assessment``, the
    e-mail carries that assessment's published report."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    ctx = RequestContext.of(services)
    row = desk.answer(
        session,
        ctx,
        inquiry_id,
        body.answer,
        actor=actor,
        assessment=body.assessment,
        version=body.version,
    )
    return desk_view(row, ctx.clock.now(), ctx)
