"""Requests without signing in: the public form, its code, and a public status page.

Routes (no sign-in needed):

* ``GET /requests/new`` — the form: the account's e-mail address, what is
  asked (access, portability, correction, deletion, restriction, objection,
  consent withdrawal) and what that kind needs (a ground, a purpose, an
  element and its new value);
* ``POST /requests/new`` — :func:`doorstep.privacy.requests.intake.submit_public`
  (the REST API's call) and a redirect to the ticket's page.  The answer is the
  same whether or not an account holds the address: only then is a request
  opened and a code sent.  Malformed input is refused before the look-up, so
  errors do not depend on the address either; each attempt counts against the
  client address's rate limit, as sign-up does;
* ``GET /requests/{ticket}`` — the ticket and a field for the code (the same
  page for any ticket);
* ``POST /requests/{ticket}/confirm`` — :func:`~doorstep.privacy.requests.intake.confirm_public`
  with ``keep_attempts`` (wrong codes stay counted); on success, the request's
  status page;
* ``GET /requests/status/{request_id}`` — kind, status, dates, refusal reason
  and where to complain; nothing else.  The id is an unguessable UUID, and only
  a request whose requester proved their identity has a status page (any
  other id is 404, so the page reveals nothing about who has an account).
  This is how someone whose account was erased sees the deletion completed.

The e-mail address, the code and new values travel only in POST bodies.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.accounts.account.identifiers import normalise_email
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin.ratelimit import count_address
from doorstep.core.errors import NotFoundError
from doorstep.core.proxies import client_address
from doorstep.privacy.requests import intake
from doorstep.privacy.requests.api import out
from doorstep.privacy.requests.corrections import CORRECTABLE
from doorstep.privacy.requests.downloads import EXPORT_KINDS
from doorstep.privacy.requests.models import RequestExport, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import PURPOSE_KINDS
from doorstep.web.center import wording as words
from doorstep.web.center.home import text
from doorstep.web.center.request_view import (
    RequestView,
    context_of,
    optional_purposes,
    restrictable_purposes,
    run,
    translated,
    view_of,
)
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.templating import DONE, render
from doorstep.web.work import RULES, attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
FIELDS = ("email", "kind", "ground", "purpose", "element", "value")
_FIX = _("Please correct what is marked below: nothing was sent.")
_TOO_MANY = _("Too many attempts: please wait a little and try again.")
DONE.update(
    {
        "request_sent": _(
            "Thank you. If an account uses the address you gave, we have sent it a code."
        ),
        "request_confirmed": _(
            "Your request is confirmed and its clock is running. Keep the link to this page."
        ),
    }
)


def _options(request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    purposes = restrictable_purposes(services_of(request).gate, ctx.policy)
    return {
        "kinds": words.PUBLIC_KINDS,
        "grounds": words.GROUNDS,
        "elements": translated(request, [(key, words.element(key)) for key in CORRECTABLE]),
        "purposes": translated(request, purposes + optional_purposes(services_of(request).terms)),
    }


def _form(
    request: Request,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "center/requests_new.html",
        status_code=status_code,
        values=values or {},
        errors=errors or {},
        error=error,
        **_options(request),
    )


@router.get("/requests/new", response_class=HTMLResponse)
def new_request_page(request: Request) -> HTMLResponse:
    """The public request form."""
    return _form(request)


@router.post("/requests/new", response_class=HTMLResponse)
def file_public(request: Request, form: Form) -> Response:
    """Take the form; the same redirect to a ticket whether or not an account holds the address."""
    values = {name: text(form, name) for name in FIELDS}
    errors: dict[str, str] = {}
    if normalise_email(values["email"]).value is None:
        errors["email"] = RULES["email_format"]
    if values["kind"] not in dict(words.PUBLIC_KINDS):
        errors["kind"] = _("Choose what you ask for.")
    if errors:
        return _form(request, status_code=422, values=values, errors=errors, error=_FIX)
    kind = RequestKind(values["kind"])
    services = services_of(request)
    ctx, accounts = context_of(request), AccountContext.of(services)

    def work(session: Session) -> uuid.UUID:
        count_address(session, accounts, client_address(request))
        return intake.submit_public(
            session,
            ctx,
            email=values["email"],
            kind=kind,
            ground=(values["ground"] or None) if kind is RequestKind.DELETION else None,
            purpose=(values["purpose"] or None) if kind in PURPOSE_KINDS else None,
            element=(values["element"] or None) if kind is RequestKind.CORRECTION else None,
            value=(values["value"] or None) if kind is RequestKind.CORRECTION else None,
        )

    outcome = attempt(request, work, keep_attempts=True)
    if outcome.error is not None:
        status = outcome.error.status
        message = _TOO_MANY if status == 429 else _FIX
        return _form(
            request, status_code=status, values=values, errors=outcome.fields, error=message
        )
    return RedirectResponse(f"/requests/{outcome.value}?done=request_sent", status_code=303)


def _ticket_page(
    request: Request, ticket: uuid.UUID, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "center/requests_ticket.html",
        status_code=status_code,
        ticket=ticket,
        errors={"code": error} if error else {},
        error=_("The code is wrong or has expired.") if error else None,
    )


@router.get("/requests/status/{request_id}", response_class=HTMLResponse)
def status_page(request: Request, request_id: uuid.UUID) -> HTMLResponse:
    """A proven request's kind, status and dates, refusal reason and where to complain."""
    services = services_of(request)
    now = services.runtime.clock.now()
    automatic = services.runtime.settings.requests_automatic

    def work(session: Session) -> RequestView:
        row = session.get(SubjectRequest, request_id)
        if row is None or row.verified_at is None:
            raise NotFoundError("no such request", request=str(request_id))
        stored = session.get(RequestExport, row.id)
        return view_of(out(row, stored, now=now), automatic, closed_at=row.closed_at)

    item = run(request, work)
    exported = item.kind in {kind.value for kind in EXPORT_KINDS}
    return render(request, "center/requests_status.html", item=item, exported=exported)


@router.get("/requests/{ticket}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket: uuid.UUID) -> HTMLResponse:
    """The ticket, and the field for the code sent to the address (if an account holds it)."""
    return _ticket_page(request, ticket)


@router.post("/requests/{ticket}/confirm", response_class=HTMLResponse)
def confirm(request: Request, ticket: uuid.UUID, form: Form) -> Response:
    """Check the code (wrong ones stay counted); on success, the request's status page."""
    ctx = context_of(request)
    code = text(form, "code")

    def work(session: Session) -> uuid.UUID:
        return intake.confirm_public(session, ctx, ticket=ticket, code=code).id

    outcome = attempt(request, work, keep_attempts=True)
    if outcome.error is not None:
        message = RULES["valid_code"]
        if outcome.error.status == 429:
            message = _TOO_MANY
        return _ticket_page(request, ticket, status_code=outcome.error.status, error=message)
    return RedirectResponse(
        f"/requests/status/{outcome.value}?done=request_confirmed", status_code=303
    )
