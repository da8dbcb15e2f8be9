"""My requests: follow every data-subject request; ask for a correction, deletion or restriction.

Routes (all for the signed-in subscriber):

* ``GET /privacy/requests`` — my requests (every kind) with status, date of
  receipt, due date, and for a refusal the reason in words and where to
  complain; below, three forms: a correction (``#correction``: which element,
  the new value), a deletion (``#deletion``: one of the five grounds of
  CPE-V.3.b, with a warning) and a restriction or objection
  (``#restriction``: which purpose, in words);
* ``POST /privacy/requests`` — ``form=correction|deletion|restriction``: files
  the request with :func:`doorstep.privacy.requests.intake.submit_signed_in`
  (the REST API's call) and redirects to the list; bad input re-renders the
  page with a message per field and files nothing;
* ``GET /privacy/requests/{request_id}`` — one of my requests (404 for anyone
  else's), with the link to its public status page to keep.

Consent withdrawal lives on the consents page.  New values of corrections travel
only in the POST body; URLs carry request ids and ``done`` codes only.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.core.errors import NotFoundError
from doorstep.privacy.requests import intake
from doorstep.privacy.requests.api import out, requests_of
from doorstep.privacy.requests.corrections import CORRECTABLE
from doorstep.privacy.requests.models import RequestExport, RequestKind
from doorstep.privacy.requests.services import get
from doorstep.web.center import wording as words
from doorstep.web.center.home import text
from doorstep.web.center.request_view import (
    RequestView,
    context_of,
    restrictable_purposes,
    run,
    translated,
    view_of,
)
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, render
from doorstep.web.work import RULES, attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
FORMS = {"correction": "correction_filed", "deletion": "deletion_filed", "restriction": "filed"}
PURPOSE_KINDS = (RequestKind.RESTRICTION.value, RequestKind.OBJECTION.value)
DONE.update(
    {
        "correction_filed": _(
            "We have your correction request. Our privacy team checks the new value and makes "
            "the change; we tell you when it is done."
        ),
        "deletion_filed": _(
            "We have your deletion request. Our privacy team reviews it and tells you when it "
            "is done. Keep the link on the request's page to follow it after your account is gone."
        ),
        "filed": _("We have your request. Our privacy team reviews it and tells you the outcome."),
    }
)


def _options(request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return {
        "elements": translated(request, [(key, words.element(key)) for key in CORRECTABLE]),
        "grounds": words.GROUNDS,
        "purposes": translated(
            request, restrictable_purposes(services_of(request).gate, ctx.policy)
        ),
    }


def _mine(request: Request, subject_id: uuid.UUID) -> list[RequestView]:
    services = services_of(request)
    now = services.runtime.clock.now()
    automatic = services.runtime.settings.requests_automatic
    found = run(request, lambda session: requests_of(session, subject_id, now))
    return [view_of(item, automatic) for item in found]


def _page(
    request: Request,
    subject_id: uuid.UUID,
    *,
    status_code: int = 200,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    if failed and error is None:
        error = _("Please correct what is marked below: nothing was sent.")
    return render(
        request,
        "center/requests.html",
        status_code=status_code,
        requests=_mine(request, subject_id),
        failed=failed,
        values=values or {},
        errors=errors or {},
        error=error,
        **_options(request),
    )


@router.get("/privacy/requests", response_class=HTMLResponse)
def requests_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """My requests, and the forms to ask for a correction, a deletion or a restriction."""
    return _page(request, subscriber.subject_id)


def _fields(form: FormData, which: str) -> tuple[dict[str, str], dict[str, str]]:
    """The values the form ``which`` sends, and the errors the page finds before the service."""
    errors: dict[str, str] = {}
    if which == "correction":
        values = {"kind": RequestKind.CORRECTION.value, "element": text(form, "element")}
        values["value"] = text(form, "value")
    elif which == "deletion":
        values = {"kind": RequestKind.DELETION.value, "ground": text(form, "ground")}
    else:
        values = {"kind": text(form, "kind"), "purpose": text(form, "purpose")}
        if values["kind"] not in PURPOSE_KINDS:
            errors["kind"] = _("Choose whether you ask for a restriction or object.")
    return values, errors


@router.post("/privacy/requests", response_class=HTMLResponse)
def file_request(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """File a correction, deletion, restriction or objection; back to the list."""
    which = text(form, "form")
    if which not in FORMS:
        raise NotFoundError("no such form")
    values, errors = _fields(form, which)
    if which == "restriction" and values["purpose"] not in dict(_options(request)["purposes"]):
        errors["purpose"] = RULES["known_purpose"]
    status, error = 422, None
    if not errors:
        ctx = context_of(request)
        outcome = attempt(
            request,
            lambda session: intake.submit_signed_in(
                session,
                ctx,
                subject_id=subscriber.subject_id,
                kind=values["kind"],
                ground=values.get("ground") or None,
                purpose=values.get("purpose") or None,
                element=values.get("element") or None,
                value=values.get("value") or None,
            ),
        )
        if outcome.ok:
            return RedirectResponse(f"/privacy/requests?done={FORMS[which]}#main", status_code=303)
        assert outcome.error is not None
        errors, status = outcome.fields, outcome.error.status
        if not errors:
            error = _("This request could not be filed. Please try again later.")
    return _page(
        request,
        subscriber.subject_id,
        status_code=status,
        failed=which,
        values=values,
        errors=errors,
        error=error,
    )


@router.get("/privacy/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request, request_id: uuid.UUID, subscriber: PageSubscriber
) -> HTMLResponse:
    """One of my requests: its status, dates, what it is about, and the link to keep."""
    services = services_of(request)
    ctx = context_of(request)
    now = services.runtime.clock.now()
    automatic = services.runtime.settings.requests_automatic

    def work(session: Session) -> RequestView:
        row = get(session, request_id)
        if row.subject_id != subscriber.subject_id:
            raise NotFoundError("no such request", request=str(request_id))
        stored = session.get(RequestExport, row.id)
        return view_of(out(row, stored, now=now), automatic, row=row, pack=ctx.policy)

    return render(request, "center/requests_one.html", item=run(request, work))
