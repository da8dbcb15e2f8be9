"""Privacy questions (inquiries) in the privacy center: ask one, see where it stands.

A question that is not a rights request is answered by the privacy desk within
``inquiries_reply_days`` (30) days, by e-mail (CPE-IX.2, decision 0026).

Routes:

* ``GET /privacy/questions`` — the signed-in subscriber's questions, newest first
  (reference, what they wrote, received, answer due by, answered on), and the form
  to ask one;
* ``POST /privacy/questions`` — :func:`doorstep.privacy.requests.inquiries.intake.submit_signed_in`
  (the app API's call); back to the list with the new question's reference and due
  date.  Bad input re-renders the page with a message per field (422) and stores
  nothing;
* ``GET /questions/new`` — the public form (no sign-in): the address to answer, an
  optional subject line and the question;
* ``POST /questions/new`` — :func:`~doorstep.privacy.requests.inquiries.intake.submit_public`;
  each attempt counts against the client address's rate limit (as the public request
  form does); on success a redirect to the question's status page;
* ``GET /questions/{reference}`` — the reference, when the question was received, when
  the answer is due and whether it was sent; nothing the asker wrote.  The reference
  is a random UUID; any other is 404.

The answer itself is not shown: it goes by e-mail and is not stored (decision 0026).
Addresses and questions travel only in POST bodies; URLs carry references and
``done`` codes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.accounts.account.identifiers import normalise_email
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin.ratelimit import count_address
from doorstep.core.proxies import client_address
from doorstep.privacy.requests.inquiries import intake, mine
from doorstep.privacy.requests.inquiries.models import QUESTION_FORM
from doorstep.web.center.home import text
from doorstep.web.center.request_view import context_of, run
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, render
from doorstep.web.work import RULES, attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
_FIX = _("Please correct what is marked below: nothing was sent.")
_TOO_MANY = _("Too many attempts: please wait a little and try again.")
#: What a field of the question forms says for a rule the service names.
WORDING: dict[tuple[str, str], str] = {
    ("body", "required"): _("Write your question."),
    ("body", "max_length"): _("Your question is too long: shorten it."),
    ("title", "max_length"): _("The subject is too long: shorten it."),
    ("email", "email_format"): RULES["email_format"],
}
DONE.update(
    {
        "question_sent": _(
            "We have your question. Our privacy team answers by e-mail by the due date shown."
        ),
    }
)


def _errors(found: dict[str, str], rules: dict[str, str]) -> dict[str, str]:
    """Field -> message for the rules a check named (``rules``: field -> rule)."""
    for name, rule in rules.items():
        words = WORDING.get((name, rule))
        if words is not None:
            found[name] = words
    return found


def _check(values: dict[str, str]) -> dict[str, str]:
    """The page's own checks, before any service runs (so nothing is counted or stored)."""
    rules: dict[str, str] = {}
    if not values["body"]:
        rules["body"] = "required"
    elif len(values["body"]) > intake.MAX_BODY:
        rules["body"] = "max_length"
    if len(" ".join(values["title"].split())) > intake.MAX_TITLE:
        rules["title"] = "max_length"
    if "email" in values and normalise_email(values["email"]).value is None:
        rules["email"] = "email_format"
    return _errors({}, rules)


def _values(form: FormData, *names: str) -> dict[str, str]:
    values = {name: text(form, name) for name in ("title", *names)}
    body = form.get("body")
    values["body"] = body.strip() if isinstance(body, str) else ""
    return values


def _outcome_errors(fields: dict[str, str], error_fields: object) -> dict[str, str]:
    rules = {
        str(item["field"]): str(item.get("rule", ""))
        for item in (error_fields if isinstance(error_fields, list) else [])
        if isinstance(item, dict) and "field" in item
    }
    return _errors(dict(fields), rules)


# -- signed in ---------------------------------------------------------------------------


def _mine_page(
    request: Request,
    subject_id: uuid.UUID,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    ctx = context_of(request)
    questions = run(request, lambda session: mine.own_inquiries(session, ctx, subject_id))
    sent = request.query_params.get("reference", "")
    return render(
        request,
        "center/questions.html",
        status_code=status_code,
        questions=questions,
        sent=sent,
        reply_days=ctx.settings.inquiries_reply_days,
        values=values or {},
        errors=errors or {},
        error=error,
        max_body=intake.MAX_BODY,
        max_title=intake.MAX_TITLE,
    )


@router.get("/privacy/questions", response_class=HTMLResponse)
def questions_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """My questions and the form to ask one."""
    return _mine_page(request, subscriber.subject_id)


@router.post("/privacy/questions", response_class=HTMLResponse)
def ask(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """Send the signed-in subscriber's question; back to the list, which shows its due date."""
    values = _values(form)
    errors = _check(values)
    status = 422
    if not errors:
        ctx = context_of(request)
        outcome = attempt(
            request,
            lambda session: (
                intake.submit_signed_in(
                    session,
                    ctx,
                    subject_id=subscriber.subject_id,
                    title=values["title"] or None,
                    body=values["body"],
                    source=QUESTION_FORM,
                ).id
            ),
        )
        if outcome.ok:
            return RedirectResponse(
                f"/privacy/questions?done=question_sent&reference={outcome.value}#sent",
                status_code=303,
            )
        assert outcome.error is not None
        errors = _outcome_errors(outcome.fields, outcome.error.fields.get("errors"))
        status = outcome.error.status
    return _mine_page(
        request, subscriber.subject_id, status_code=status, values=values, errors=errors, error=_FIX
    )


# -- without signing in ------------------------------------------------------------------


def _public_form(
    request: Request,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "center/questions_new.html",
        status_code=status_code,
        values=values or {},
        errors=errors or {},
        error=error,
        reply_days=context_of(request).settings.inquiries_reply_days,
        max_body=intake.MAX_BODY,
        max_title=intake.MAX_TITLE,
    )


@router.get("/questions/new", response_class=HTMLResponse)
def new_question_page(request: Request) -> HTMLResponse:
    """The public question form."""
    return _public_form(request)


@router.post("/questions/new", response_class=HTMLResponse)
def ask_public(request: Request, form: Form) -> Response:
    """Take the public form; the same answer whether or not an account holds the address."""
    values = _values(form, "email")
    errors = _check(values)
    if errors:
        return _public_form(request, status_code=422, values=values, errors=errors, error=_FIX)
    ctx = context_of(request)
    accounts = AccountContext.of(services_of(request))

    def work(session: Session) -> uuid.UUID:
        count_address(session, accounts, client_address(request))
        return intake.submit_public(
            session, ctx, email=values["email"], title=values["title"] or None, body=values["body"]
        ).id

    outcome = attempt(request, work, keep_attempts=True)
    if outcome.error is not None:
        status = outcome.error.status
        errors = _outcome_errors(outcome.fields, outcome.error.fields.get("errors"))
        message = _TOO_MANY if status == 429 else _FIX
        return _public_form(
            request, status_code=status, values=values, errors=errors, error=message
        )
    return RedirectResponse(f"/questions/{outcome.value}?done=question_sent", status_code=303)


@router.get("/questions/{reference}", response_class=HTMLResponse)
def question_status(request: Request, reference: uuid.UUID) -> HTMLResponse:
    """Where a question stands: reference and dates only."""
    status = run(request, lambda session: mine.status_of(session, reference))
    return render(request, "center/questions_status.html", item=status)
