"""Run a page's change in a transaction of its own and turn errors into what the form shows.

A page handler must not catch a service's error inside the request's own
transaction (that would commit half a change).  :func:`attempt` runs the work
in a fresh transaction — committed when it returns, rolled back when it raises,
with refusals' audit records and counted failed attempts kept, as the API
does — and hands back the value or the error for the page to show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from doorstep.accounts.attempts import attempt_transaction
from doorstep.audit.entries import audited_transaction
from doorstep.core.errors import DoorstepError
from doorstep.services import Services
from doorstep.web.i18n import _

T = TypeVar("T")

#: What a form says for each rule a service names (the rule code itself otherwise).
RULES: dict[str, str] = {
    "email_format": _("Enter an e-mail address like name@example.org."),
    "phone_format": _("Enter a mobile number with its country code, like +44 7911 123456."),
    "required": _("This field is required."),
    "policy_not_acknowledged": _(
        "The privacy policy changed while you were signing up: read the version shown and "
        "try again."
    ),
    "valid_code": _("The code is wrong or has expired."),
    "weak_password": _("Choose a longer password that is not easy to guess."),
    "erasure_ground": _("Choose why you want your data deleted."),
    "known_purpose": _("Choose a purpose."),
    "correctable": _("This item cannot be corrected by request."),
    "refusal_code": _("Choose a reason."),
    "extension_reason": _("Choose a reason."),
    "allowed_extension": _("This extension is not allowed here."),
    "email_or_phone_required": _("Enter an e-mail address or a mobile number."),
    "too_short": _("This password is too short."),
    "too_long": _("Use at most 128 characters."),
    "common_password": _("This password is among the first ones attackers try; choose another."),
    "contains_identifier": _("Do not use your e-mail address or mobile number in the password."),
    "too_few_distinct_characters": _("Use at least 5 different characters."),
    "repeated_pattern": _("Do not repeat the same few characters over and over."),
    "age_declaration_required": _("Enter your age."),
    "age_range": _("Enter an age between 0 and 130."),
    "guardian_consent_required": _(
        "Children need a parent's or guardian's consent: enter their e-mail address."
    ),
    "guardian_email_distinct": _("Enter your parent's or guardian's address, not your own."),
}


@dataclass
class Outcome(Generic[T]):
    """The value of the work, or the error it raised (never both)."""

    value: T | None = None
    error: DoorstepError | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the work succeeded."""
        return self.error is None


def services_of(request: Request) -> Services:
    """The app's shared services."""
    services: Services = request.app.state.services
    return services


def _failed(exc: DoorstepError) -> Outcome[T]:
    fields: dict[str, str] = {}
    for item in exc.fields.get("errors") or ():
        if isinstance(item, dict) and "field" in item:
            rule = str(item.get("rule", ""))
            fields[str(item["field"])] = RULES.get(rule, rule or _("This is not valid."))
    return Outcome(error=exc, fields=fields)


def attempt(
    request: Request, work: Callable[[Session], T], *, keep_attempts: bool = False
) -> Outcome[T]:
    """Run ``work`` in its own transaction; ``keep_attempts`` commits counted failures."""
    factory = services_of(request).runtime.sessions
    transaction = attempt_transaction if keep_attempts else audited_transaction
    try:
        with transaction(factory) as session:
            return Outcome(value=work(session))
    except DoorstepError as exc:
        return _failed(exc)


async def attempt_async(request: Request, work: Callable[[Session], Awaitable[T]]) -> Outcome[T]:
    """:func:`attempt` for work that talks to a device (awaits the USP round trip)."""
    factory = services_of(request).runtime.sessions
    try:
        with audited_transaction(factory) as session:
            return Outcome(value=await work(session))
    except DoorstepError as exc:
        return _failed(exc)
