"""My account (CPE-V.1.a, V.2.a, V.5) and the privacy policy in force (public).

Routes:

* ``GET /account`` — the signed-in subscriber's own account, read through
  :func:`doorstep.accounts.view.own_account` (the purpose gate audits each
  read, as ``GET /api/v1/accounts/me``).  Only the password is changed here;
  every other detail is corrected by a request (CPE-V.2.a), which the page links.
* ``POST /account/password`` — :func:`doorstep.accounts.signin.flows.change_password`;
  a wrong current password is counted (the per-account ``reauth`` lockout) and
  every other session ends.  Success: 303 to ``/account?done=password_changed``.
  (Both forms post to their section's fragment, ``#password`` / ``#deregister``, so a
  refusal re-renders the page scrolled to its message; success redirects to ``#main``.)
* ``POST /account/deregister`` — the password is checked, then
  :func:`doorstep.accounts.deregistration.closing.deregister` (reason ``self_service``),
  as ``POST /api/v1/accounts/me/deregistration``.  Refused while devices are
  bound (CPE-V.5.c: the page lists them, linked to their pages).  Success: the
  session cookie is deleted and the browser goes to ``/?done=deregistered``.
* ``GET /account/password``, ``GET /account/deregister`` — 303 to ``/account`` (the
  forms' addresses reached by signing in again after the session ended).
* ``GET /policy`` and the archived versions — :mod:`.policy_pages` (mounted
  beside this module), which reads the stored versions; the earlier versions the pack lists
  (an optional ``history:`` list under ``policy:`` in ``consent.yaml``) are read
  by :func:`load_policy`.
  Each text is in a ``<details>`` element (closed: the page opens on the overview;
  no script needed to open it).

Contract: bad input re-renders the form with a message per field and changes
nothing (status 422); a refusal re-renders with why and the error's status;
counted failures commit (``keep_attempts``).  No personal data in URLs or logs.
"""

from __future__ import annotations

import base64
import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.accounts import view
from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.account.models import DeregistrationReason
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration import closing
from doorstep.accounts.exceptions import (
    AuthenticationFailedError,
    DevicesBoundError,
    TooManyAttemptsError,
)
from doorstep.accounts.signin import flows, ratelimit
from doorstep.audit.entries import subject_actor
from doorstep.core.errors import ConfigurationError, DoorstepError, InvalidInputError
from doorstep.core.memo import by_identity
from doorstep.devices import page as devices_page
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.web.center import language
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _, translations
from doorstep.web.session import SUBSCRIBER_COOKIE, PageSubscriber
from doorstep.web.templating import DONE, language_of, render
from doorstep.web.work import RULES, attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
DONE.update(
    {
        "password_changed": _(
            "Your password is changed. Every other session of your account is signed out."
        ),
        "deregistered": _(
            "Your account is deregistered and you are signed out: signing in no longer works. "
            "Your data is being erased; we keep only what the privacy policy requires as "
            "evidence. We have sent you a confirmation."
        ),
    }
)
#: What the new-password field says for each strength rule of the accounts area.
WEAKNESS = {
    "too_short": _("This password is too short."),
    "too_long": _("This password is too long."),
    "common_password": _("This password is too common: choose one that is not easy to guess."),
    "contains_identifier": _("Do not use your e-mail address or mobile number in the password."),
    "too_few_distinct_characters": _("Use more different characters."),
    "repeated_pattern": _("Do not repeat a pattern of characters."),
}
#: The documents of a pack, in the order the page shows them (file, anchor, heading).
DOCUMENTS = (
    ("cpe-privacy-policy.txt", "product", _("Product privacy policy (routers, gateways, app)")),
    ("corporate-privacy-policy.txt", "corporate", _("Corporate privacy policy")),
)
CONSENT_FILE = "consent.yaml"
#: Picture types the page shows inline (a ``data:`` URI, which the page policy allows).
AVATAR_TYPES = frozenset({"image/png", "image/jpeg"})


# -- my account -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoundDevice:
    """A device that stops deregistration: its id (for the link) and model, if known."""

    id: str
    model: str | None


def _secret(form: FormData, name: str) -> str:
    """A password field, exactly as typed ('' when absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _context(request: Request) -> AccountContext:
    return AccountContext.of(services_of(request))


def _translate(request: Request, message: str) -> str:
    return translations(language_of(request)).gettext(message)


def _show(
    request: Request, subscriber_id: uuid.UUID, *, status_code: int = 200, **forms: Any
) -> HTMLResponse:
    """The account page, read through the accounts service; ``forms`` fill its forms' states."""
    ctx = _context(request)
    outcome = attempt(request, lambda session: view.own_account(session, ctx, subscriber_id))
    if outcome.value is None:
        raise outcome.error or DoorstepError()
    context: dict[str, Any] = {
        "change_errors": {},
        "change_problem": None,
        "deregister_errors": {},
        "deregister_problem": None,
        "tries_left": None,
        "retry_minutes": None,
        "bound": [],
        "min_length": ctx.settings.password_min_length,
        "lockout_limit": ctx.settings.account_signin_max_failures,
        "lockout_minutes": math.ceil(ctx.settings.account_lockout_seconds / 60),
        "languages": language.choices(),
    }
    context.update(forms)
    profile = outcome.value.profile
    context["avatar"] = (
        f"data:{profile.avatar_type};base64,{base64.b64encode(profile.avatar).decode()}"
        if profile and profile.avatar and profile.avatar_type in AVATAR_TYPES
        else None
    )
    return render(
        request, "center/account.html", status_code=status_code, account=outcome.value, **context
    )


def _tries_left(request: Request, ctx: AccountContext, subscriber_id: uuid.UUID) -> int | None:
    """Wrong passwords still allowed before the lockout (the count the service keeps)."""
    limit = ratelimit.lockout_limit(ctx)
    key = ratelimit.bucket(ctx, "reauth", str(subscriber_id))
    outcome = attempt(
        request, lambda session: ratelimit.current(session, key, limit, now=ctx.clock.now())
    )
    return None if outcome.value is None else max(0, limit.limit - outcome.value.hits)


def _bound_devices(
    request: Request, subscriber_id: uuid.UUID, device_ids: list[str]
) -> list[BoundDevice]:
    """The refused deregistration's devices, named by model where the devices area says it."""
    gate = services_of(request).gate
    outcome = attempt(
        request, lambda session: devices_page.list_devices(session, gate, subscriber_id)
    )
    models = {str(item.device_id): item.model for item in outcome.value or ()}
    return [BoundDevice(device, models.get(device)) for device in device_ids]


def _refused(
    request: Request, subscriber_id: uuid.UUID, error: DoorstepError | None, *, form: str
) -> HTMLResponse:
    """Re-render the account page saying why ``form`` (change or deregister) was refused."""
    error = error or DoorstepError()
    ctx = _context(request)
    errors: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(error, AuthenticationFailedError):
        problem = "wrong"
        field = "current_password" if form == "change" else "password"
        errors[field] = _("The password is wrong.")
        extra["tries_left"] = _tries_left(request, ctx, subscriber_id)
    elif isinstance(error, TooManyAttemptsError):
        problem = "locked"
        extra["retry_minutes"] = math.ceil(int(error.fields.get("retry_after", 60)) / 60)
    elif isinstance(error, DevicesBoundError):
        problem = "devices_bound"
        ids = [str(device) for device in error.fields.get("device_ids", ())]
        extra["bound"] = _bound_devices(request, subscriber_id, ids)
    elif isinstance(error, InvalidInputError):
        problem = "invalid"
        rules = [str(item.get("rule")) for item in error.fields.get("errors") or ()]
        messages = dict.fromkeys(WEAKNESS.get(rule, RULES["weak_password"]) for rule in rules)
        errors["new_password"] = " ".join(_translate(request, m) for m in messages)
    else:
        problem = "other"
    return _show(
        request,
        subscriber_id,
        status_code=error.status,
        **{f"{form}_problem": problem, f"{form}_errors": errors},
        **extra,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """My account: details, password change, deregistration."""
    return _show(request, subscriber.subject_id)


@router.get("/account/password")
@router.get("/account/deregister")
def back_to_account(request: Request) -> Response:
    """The forms' addresses opened directly (after signing in again): the account page."""
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """Check the current password and set the new one; every other session ends."""
    current, new = _secret(form, "current_password"), _secret(form, "new_password")
    again = _secret(form, "new_password_again")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = _("Enter your current password.")
    if not new:
        errors["new_password"] = _("Enter a new password.")
    if not again:
        errors["new_password_again"] = _("Enter the new password again.")
    elif new and again != new:
        errors["new_password_again"] = _("The two new passwords are not the same.")
    if errors:
        return _show(
            request,
            subscriber.subject_id,
            status_code=422,
            change_problem="invalid",
            change_errors=errors,
        )
    ctx = _context(request)
    outcome = attempt(
        request,
        lambda session: flows.change_password(
            session, ctx, subscriber.subject_id, subscriber.session_id, current=current, new=new
        ),
        keep_attempts=True,
    )
    if not outcome.ok:
        return _refused(request, subscriber.subject_id, outcome.error, form="change")
    return RedirectResponse("/account?done=password_changed#main", status_code=303)


@router.post("/account/deregister", response_class=HTMLResponse)
def deregister(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """Close the account now (CPE-V.5.a) after checking the password; refused while bound."""
    password = _secret(form, "password")
    subject = subscriber.subject_id
    if not password:
        return _show(
            request,
            subject,
            status_code=422,
            deregister_problem="invalid",
            deregister_errors={"password": _("Enter your password to confirm.")},
        )
    ctx = _context(request)

    def work(session: Session) -> datetime:
        account = require_open(session, subject, lock=True)
        flows.check_password(session, ctx, account, password)
        return closing.deregister(
            session,
            ctx,
            subject,
            reason=DeregistrationReason.SELF_SERVICE,
            actor=subject_actor(subject),
        )

    outcome = attempt(request, work, keep_attempts=True)
    if not outcome.ok:
        return _refused(request, subject, outcome.error, form="deregister")
    response = RedirectResponse("/?done=deregistered#main", status_code=303)
    response.delete_cookie(SUBSCRIBER_COOKIE, path="/")
    return response


# -- the privacy policy -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """A version of the policy: its id, where it is published and when (if said)."""

    version: str
    url: str
    published: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One text of the pack: its anchor on the page, its heading (a msgid) and the text."""

    anchor: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class PublishedPolicy:
    """The policy in force, its earlier versions (newest first, as listed) and its texts."""

    current: PolicyVersion
    language: str
    history: tuple[PolicyVersion, ...]
    documents: tuple[PolicyDocument, ...]


def _text(value: object, where: str, *, required: bool) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigurationError(f"policy pack: {CONSENT_FILE}: {where} is required")
        return None
    if not isinstance(value, str | int | float):
        raise ConfigurationError(f"policy pack: {CONSENT_FILE}: {where} must be text")
    return str(value).strip()


def _version(spec: object, where: str) -> PolicyVersion:
    if not isinstance(spec, dict):
        raise ConfigurationError(f"policy pack: {CONSENT_FILE}: {where} must be a mapping")
    return PolicyVersion(
        version=str(_text(spec.get("version"), f"{where}.version", required=True)),
        url=str(_text(spec.get("url"), f"{where}.url", required=True)),
        published=_text(spec.get("published"), f"{where}.published", required=False),
    )


def load_policy(path: Path) -> PublishedPolicy:
    """Read the policy of the pack at ``path``: ``policy:`` of ``consent.yaml`` and the texts.

    ``policy.history`` (optional) lists earlier versions, each with ``version``,
    ``url`` and ``published``; :class:`ConfigurationError` names a bad entry.
    """
    source = path / CONSENT_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"policy pack: {source} cannot be read ({exc})") from None
    spec = raw.get("policy") if isinstance(raw, dict) else None
    current = _version(spec, "policy")
    assert isinstance(spec, dict)
    listed = spec.get("history") or []
    if not isinstance(listed, list):
        raise ConfigurationError(f"policy pack: {CONSENT_FILE}: policy.history must be a list")
    history = tuple(_version(item, f"policy.history[{index}]") for index, item in enumerate(listed))
    documents = tuple(
        PolicyDocument(anchor, title, (path / name).read_text(encoding="utf-8"))
        for name, anchor, title in DOCUMENTS
        if (path / name).is_file()
    )
    language = _text(spec.get("language"), "policy.language", required=False) or "en"
    return PublishedPolicy(current, language, history, documents)


@by_identity
def published_policy(pack: PolicyPack) -> PublishedPolicy:
    """The policy of ``pack`` (the pack in force, ``Services.pack``), read once."""
    return load_policy(pack.path)


# The policy pages themselves read the stored versions: :mod:`.policy_pages`.
