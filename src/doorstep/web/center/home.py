"""The privacy center's front door: home, sign-up, verification, sign-in and -out, cookies.

Forms post back to their own page; a change that succeeds redirects (303) to
the page that shows its result, a refused one re-renders the form with what
was wrong, field by field.  Every form carries the CSRF token
(:mod:`doorstep.web.csrf`); failed sign-ins and codes stay counted
(``keep_attempts``), as in the API.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from doorstep.accounts.account.models import AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin import flows
from doorstep.accounts.signin.ratelimit import count_address
from doorstep.accounts.signup import registration
from doorstep.accounts.transfer_consents import (
    TransferConsentRequiredError,
    TransferImpossibleError,
)
from doorstep.core.errors import DoorstepError
from doorstep.core.proxies import client_address
from doorstep.privacy.policies import answers
from doorstep.privacy.policies.answers import Policy
from doorstep.web import cookies
from doorstep.web.center.transfers import carried_by
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.numbers import whole_number
from doorstep.web.session import SUBSCRIBER_COOKIE, cookie_value, safe_next
from doorstep.web.templating import DONE, language_of, render
from doorstep.web.work import RULES, attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
#: The oldest age the sign-up form takes (the accounts area's age gate says the same).
MAX_AGE = 130
DONE.update(
    {
        "signed_out": _("You are signed out."),
        "verified": _("Your account is ready. Sign in to continue."),
        "preferences_saved": _("Your preferences are saved."),
        "preferences_not_saved": _(
            "Your preferences could not be saved: allow preference cookies first "
            "(your browser's Do Not Track or Global Privacy Control setting also prevents it)."
        ),
    }
)


def text(form: FormData, name: str) -> str:
    """A text field of the form ('' when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _min(request: Request) -> int:
    """The shortest password the deployment accepts (shown as a hint)."""
    return int(services_of(request).runtime.settings.password_min_length)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The privacy center's start page."""
    return render(request, "center/home.html")


@router.get("/signin", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "center/signin.html", next=safe_next(next, "/devices"), error=None)


@router.post("/signin", response_class=HTMLResponse)
def sign_in(request: Request, form: Form) -> Response:
    """Check the password; on success the session cookie is set and the browser goes on."""
    identifier, password = text(form, "identifier"), form.get("password")
    target = safe_next(text(form, "next"), "/devices")
    ctx = AccountContext.of(services_of(request))
    outcome = attempt(
        request,
        lambda session: flows.sign_in(
            session, ctx, identifier, str(password or ""), address=client_address(request)
        ),
        keep_attempts=True,
    )
    if outcome.value is None:
        status = outcome.error.status if outcome.error else 401
        return render(
            request,
            "center/signin.html",
            status_code=status,
            next=target,
            identifier=identifier,
            error=_(
                "The e-mail address, number or password is wrong, or the account is not active yet."
            )
            if status != 429
            else _("Too many attempts: wait a little."),
        )
    response = RedirectResponse(target, status_code=303)
    issued = outcome.value
    cookies.set_cookie(
        response,
        request,
        SUBSCRIBER_COOKIE,
        cookie_value(issued.access_token, issued.refresh_token),
    )
    return response


@router.post("/signout")
def sign_out(request: Request, form: Form) -> Response:
    """End the session (its tokens stop working) and forget the cookie."""
    subscriber = getattr(request.state, "subscriber", None)
    if subscriber is not None:
        ctx = AccountContext.of(services_of(request))
        attempt(
            request,
            lambda session: flows.sign_out(
                session, ctx, subscriber.subject_id, subscriber.session_id
            ),
        )
    response = RedirectResponse("/?done=signed_out", status_code=303)
    response.delete_cookie(SUBSCRIBER_COOKIE, path="/")
    return response


def _policy_shown(request: Request) -> str:
    """The id of the policy version in force: the form shows it and the sign-up acknowledges it."""
    services = services_of(request)
    policy = Policy(services.pack, services.terms)
    with services.runtime.sessions.begin() as session:
        return answers.version_to_acknowledge(session, policy, services.runtime.clock).id


@router.get("/signup", response_class=HTMLResponse)
def sign_up_page(request: Request) -> HTMLResponse:
    """The sign-up form, with the policy version it acknowledges (CPE-0.5)."""
    return render(
        request,
        "center/signup.html",
        values={},
        errors={},
        error=None,
        min_length=_min(request),
        policy_version=_policy_shown(request),
        transfer=[],
    )


def _sign_up_refused(
    request: Request,
    status: int,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    error: str = _("Please correct what is marked below."),
    transfer: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    """The sign-up form again, with what was typed and what is wrong, field by field.

    ``transfer``: the processors abroad the codes would go through, by country
    (decision 0035): the form then asks for the subscriber's agreement.
    """
    return render(
        request,
        "center/signup.html",
        status_code=status,
        values=values,
        errors=errors,
        error=error,
        min_length=_min(request),
        policy_version=_policy_shown(request),
        transfer=transfer or [],
    )


def _transfer_refused(
    request: Request, error: DoorstepError, values: dict[str, str]
) -> HTMLResponse | None:
    """The form again when the codes cannot go abroad as asked (decision 0035); else None."""
    destinations = error.fields.get("destinations") or []
    if isinstance(error, TransferConsentRequiredError):
        return _sign_up_refused(
            request,
            error.status,
            values,
            {},
            error=_(
                "Our messages to you would be carried abroad: read below where, tick the box if "
                "you agree, and enter your password again."
            ),
            transfer=carried_by(destinations, language_of(request)),
        )
    if isinstance(error, TransferImpossibleError):
        return _sign_up_refused(
            request,
            error.status,
            values,
            {},
            error=_(
                "We cannot send messages to your country at the moment, so you cannot create "
                "an account here yet. Please contact us."
            ),
        )
    return None


@router.post("/signup", response_class=HTMLResponse)
def sign_up(request: Request, form: Form) -> HTMLResponse:
    """Create a pending account; the codes go to the e-mail address and the mobile number."""
    values = {name: text(form, name) for name in ("email", "phone", "age", "guardian_email")}
    ctx = AccountContext.of(services_of(request))
    age = whole_number(values["age"], maximum=MAX_AGE)
    if values["age"] and age is None:  # not an age at all: nothing is tried or counted
        return _sign_up_refused(request, 422, values, {"age": RULES["age_range"]})
    sign_up_form = registration.SignUpForm(
        password=str(form.get("password") or ""),
        email=values["email"] or None,
        phone=values["phone"] or None,
        age=age,
        guardian_email=values["guardian_email"] or None,
        language=language_of(request),
        policy_version=text(form, "policy_version") or None,
        channel="web",
        transfer_consent=text(form, "transfer_consent") == "yes",
    )

    def work(session: object) -> None:
        count_address(session, ctx, client_address(request))  # type: ignore[arg-type]
        registration.sign_up(session, ctx, sign_up_form)  # type: ignore[arg-type]

    outcome = attempt(request, work, keep_attempts=True)
    if not outcome.ok:
        abroad = _transfer_refused(request, outcome.error, values) if outcome.error else None
        if abroad is not None:
            return abroad
        status = outcome.error.status if outcome.error else 422
        if "date_of_birth" in outcome.fields:  # the form asks for the age instead
            outcome.fields["age"] = outcome.fields.pop("date_of_birth")
        return _sign_up_refused(request, status, values, outcome.fields)
    return render(
        request,
        "center/verify.html",
        email=values["email"],
        phone=values["phone"],
        errors={},
        error=None,
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> HTMLResponse:
    """The form for the codes (when coming back to it later)."""
    return render(request, "center/verify.html", email="", phone="", errors={}, error=None)


@router.post("/verify", response_class=HTMLResponse)
def verify(request: Request, form: Form) -> Response:
    """Redeem the codes sent to the e-mail address and the mobile number."""
    ctx = AccountContext.of(services_of(request))
    email, phone = text(form, "email"), text(form, "phone")
    errors: dict[str, str] = {}
    status: AccountStatus | None = None
    for identifier, field in ((email, "email_code"), (phone, "phone_code")):
        code = text(form, field)
        if not identifier or not code:
            continue
        outcome = attempt(
            request,
            partial(registration.verify, ctx=ctx, identifier=identifier, code=code),
            keep_attempts=True,
        )
        if outcome.ok:
            status = outcome.value
        else:
            errors[field] = _("The code is wrong or has expired.")
    if status is AccountStatus.ACTIVE and not errors:
        return RedirectResponse("/signin?done=verified", status_code=303)
    return render(
        request,
        "center/verify.html",
        status_code=422 if errors or status is None else 200,
        email=email,
        phone=phone,
        errors=errors,
        error=None if status else _("Enter the codes we sent you."),
    )


@router.get("/cookies", response_class=HTMLResponse)
def cookie_page(request: Request) -> HTMLResponse:
    """What cookies the site uses, and the visitor's choice."""
    return render(request, "center/cookies.html")


@router.post("/cookies")
def choose_cookies(request: Request, form: Form) -> Response:
    """Record the banner answer (a refusal deletes preference cookies)."""
    response = RedirectResponse(safe_next(text(form, "next"), "/cookies"), status_code=303)
    cookies.record_choice(response, request, accepted=text(form, "choice") == cookies.ACCEPTED)
    return response


@router.post("/preferences")
def set_preferences(request: Request, form: Form) -> Response:
    """Remember the theme, only if preference cookies are allowed."""
    theme = text(form, "theme")
    done = "preferences_saved"
    response = RedirectResponse("/cookies?done=" + done, status_code=303)
    if theme not in cookies.THEMES or not cookies.set_preference(
        response, request, cookies.THEME, theme
    ):
        response.headers["location"] = "/cookies?done=preferences_not_saved"
    return response
