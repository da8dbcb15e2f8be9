"""The operator console's inquiries: the queue of privacy questions, one question, the answer.

* ``GET /console/inquiries`` — the queue (``view_requests``): unanswered questions,
  overdue first, then by deadline (:func:`doorstep.privacy.requests.inquiries.desk.queue`),
  with the department that owns each; ``?overdue=1`` keeps the overdue ones,
  ``?answered=1`` lists the answered ones instead.  Ids, codes and instants only.
* ``GET /console/inquiries/{id}`` — one inquiry's facts (``view_requests``); for a
  role that may decide (``decide_requests``) also the question, read through the
  purpose gate (audited, as the console API does), and the answer form while it
  is unanswered.
* ``POST /console/inquiries/{id}/answer`` — ``decide_requests``:
  :func:`~doorstep.privacy.requests.inquiries.desk.answer` sends the answer by
  e-mail through the outbox and closes the inquiry, in a transaction of its own;
  success goes back to the inquiry with ``?done=``; bad input or a conflict
  re-renders it with the reason and the typed answer (nothing changed).

The queue view is audited (``inquiries.queue_viewed``), as in the console API; a role
without the action gets the 403 page, and ``require_action`` has recorded the refusal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import desk
from doorstep.privacy.requests.inquiries.api import DeskInquiry, desk_view
from doorstep.privacy.requests.inquiries.desk import Question
from doorstep.privacy.requests.inquiries.models import PURPOSE
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.console.wording import CHANNELS
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)

DONE.update({"inquiry_answered": _("The answer is on its way to the asker by e-mail.")})
#: What the answer field says for a rule the service names.
WORDING: dict[tuple[str, str], str] = {
    ("answer", "required"): _("Write the answer."),
    ("answer", "max_length"): _("The answer is too long: shorten it."),
}
CONFLICTS: dict[str, str] = {
    "answered": _("This question was answered already."),
    "unreachable": _("There is no address to send the answer to: nothing was sent."),
}


@dataclass(frozen=True, slots=True)
class InquiryPage:
    """What the inquiry page shows: the desk's view and, for a deciding role, the question."""

    desk: DeskInquiry
    question: Question | None


def _context(request: Request) -> RequestContext:
    return RequestContext.of(services_of(request))


@router.get("/console/inquiries", response_class=HTMLResponse)
def queue(request: Request, staff: PageStaff, overdue: str = "", answered: str = "") -> Response:
    """The queue of questions, overdue first; or only the overdue, or the answered ones."""
    ctx = _context(request)
    now = ctx.clock.now()
    late_only, done_ones = overdue == "1", answered == "1"

    def work(session: Session, actor: str) -> list[DeskInquiry]:
        rows = desk.queue(session, now, overdue_only=late_only, answered=done_ones)
        record(
            session,
            action="inquiries.queue_viewed",
            actor=actor,
            purpose=PURPOSE,
            details={"count": len(rows)},
        )
        return [desk_view(row, now, ctx) for row in rows]

    rows = must(act(request, staff, StaffAction.VIEW_REQUESTS, work))
    return render(
        request,
        "console/inquiries.html",
        rows=rows,
        overdue=late_only,
        answered=done_ones,
        channels=CHANNELS,
        reply_days=ctx.settings.inquiries_reply_days,
    )


def _page(
    request: Request,
    staff: Staff,
    inquiry_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    typed: str = "",
) -> HTMLResponse:
    """The inquiry page: its facts and, for a role that may decide, the question and the form."""
    ctx = _context(request)
    decide = may(staff.role, StaffAction.DECIDE_REQUESTS)

    def work(session: Session, actor: str) -> InquiryPage:
        question = desk.read(session, ctx, inquiry_id, actor=actor) if decide else None
        row = desk.get(session, inquiry_id)
        return InquiryPage(desk_view(row, ctx.clock.now(), ctx), question)

    action = StaffAction.DECIDE_REQUESTS if decide else StaffAction.VIEW_REQUESTS
    shown = must(act(request, staff, action, work))
    return render(
        request,
        "console/inquiry.html",
        status_code=status_code,
        desk=shown.desk,
        question=shown.question,
        decide=decide,
        channels=CHANNELS,
        errors=errors or {},
        error=error,
        typed=typed,
        max_answer=desk.MAX_ANSWER,
    )


@router.get("/console/inquiries/{inquiry_id}", response_class=HTMLResponse)
def show(request: Request, inquiry_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """One inquiry; for a privacy officer the question and the answer form."""
    return _page(request, staff, inquiry_id)


@router.post("/console/inquiries/{inquiry_id}/answer", response_class=HTMLResponse)
def answer(request: Request, inquiry_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Send the answer by e-mail and close the inquiry (once)."""
    ctx = _context(request)
    typed = form.get("answer")
    words = typed if isinstance(typed, str) else text(form, "answer")

    def work(session: Session, actor: str) -> bool:
        desk.answer(session, ctx, inquiry_id, words, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if outcome.ok:
        return RedirectResponse(
            f"/console/inquiries/{inquiry_id}?done=inquiry_answered", status_code=303
        )
    error = outcome.error
    assert error is not None
    if isinstance(error, NotFoundError):
        raise error
    message = _("This cannot be done now.")
    if isinstance(error, InvalidInputError):
        message = _("Please correct what is marked below: nothing was sent.")
    elif isinstance(error, ConflictError):
        message = CONFLICTS.get(str(error.fields.get("reason", "")), message)
    return _page(
        request,
        staff,
        inquiry_id,
        status_code=error.status,
        errors=field_errors(outcome, WORDING),
        error=message,
        typed=words,
    )
